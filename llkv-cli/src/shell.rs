//! A shell session: the open database, the engine (route) on it, the output
//! mode, and running statements and dot-commands.

use crate::database::{create_statement, open, table_meta, table_names};
use crate::output::{Mode, print_rows};
use crate::split::{Splitter, split_statements};
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_provider::DataFusionEngine;
use llkv_sql::{Engine, Output};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The SQL route a shell uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Route {
    /// llkv tables under DataFusion (the default).
    Datafusion,
    /// llkv's own planner and executor.
    Native,
}

impl Route {
    /// Parses `datafusion` or `native`.
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "datafusion" | "df" => Some(Route::Datafusion),
            "native" => Some(Route::Native),
            _ => None,
        }
    }

    /// The route's name.
    pub fn name(self) -> &'static str {
        match self {
            Route::Datafusion => "datafusion",
            Route::Native => "native",
        }
    }
}

/// What the caller should do after a line or command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// `.quit`: stop reading input.
    Quit,
}

/// One shell session.
pub struct Shell {
    engine: Box<dyn Engine>,
    db: Database,
    route: Route,
    path: Option<PathBuf>,
    /// How results are printed.
    pub mode: Mode,
    /// Print each statement's time (`.timer on`).
    pub timer: bool,
    /// Whether the user is at a terminal (prints row counts for changes).
    pub interactive: bool,
    /// Set when any statement or command failed.
    pub failed: bool,
    out: Box<dyn Write>,
}

fn connect(db: &Database, route: Route) -> Result<Box<dyn Engine>, String> {
    Ok(match route {
        Route::Datafusion => {
            Box::new(DataFusionEngine::new(db.clone()).map_err(|e| e.message.clone())?)
        }
        Route::Native => Box::new(NativeEngine::new(db.clone())),
    })
}

impl Shell {
    /// Opens the database at `path` (in memory for `None`) on `route`.
    ///
    /// # Errors
    /// A one-line message when the database cannot be opened.
    pub fn open(
        path: Option<&Path>,
        route: Route,
        mode: Mode,
        out: Box<dyn Write>,
    ) -> Result<Self, String> {
        let db = open(path)?;
        let engine = connect(&db, route)?;
        Ok(Self {
            engine,
            db,
            route,
            path: path.map(Path::to_path_buf),
            mode,
            timer: false,
            interactive: false,
            failed: false,
            out,
        })
    }

    fn error(&mut self, message: impl std::fmt::Display) {
        let _ = self.out.flush();
        eprintln!("Error: {message}");
        self.failed = true;
    }

    /// Runs one SQL statement and prints its result. Errors go to stderr as
    /// `Error: …` and set [`Shell::failed`].
    pub fn run_statement(&mut self, sql: &str) {
        let start = Instant::now();
        // A bug in a route must not take the shell down: report it as an error.
        let engine = &mut self.engine;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.execute(sql)))
            .unwrap_or_else(|panic| {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(llkv_sql::SqlError::new(
                    llkv_sql::ErrorKind::Internal,
                    format!("internal error (the {} route panicked): {msg}", self.route.name()),
                ))
            });
        let elapsed = start.elapsed();
        match result {
            Ok(outputs) => {
                for o in outputs {
                    let printed = match &o {
                        Output::Rows { schema, batches } => {
                            print_rows(self.out.as_mut(), self.mode, schema, batches)
                        }
                        Output::Affected(n) if self.interactive => {
                            writeln!(self.out, "{n} row{} affected", if *n == 1 { "" } else { "s" })
                                .map_err(Into::into)
                        }
                        _ => Ok(()),
                    };
                    if let Err(e) = printed {
                        self.error(format!("cannot print the result: {e}"));
                    }
                }
            }
            Err(e) => self.error(e.message),
        }
        if self.timer {
            let _ = self.out.flush();
            eprintln!("Run Time: {:.3}s", elapsed.as_secs_f64());
        }
        let _ = self.out.flush();
    }

    /// Runs a script: SQL statements and dot-commands (a line starting with
    /// `.` outside a statement). Stops early on `.quit`.
    pub fn run_script(&mut self, text: &str) -> Flow {
        let mut splitter = Splitter::new();
        for line in text.split_inclusive('\n') {
            if !splitter.is_pending() && line.trim_start().starts_with('.') {
                if self.dot_command(line.trim()) == Flow::Quit {
                    return Flow::Quit;
                }
                continue;
            }
            for stmt in splitter.push(line) {
                self.run_statement(&stmt);
            }
        }
        if let Some(rest) = splitter.finish() {
            self.run_statement(&rest);
        }
        Flow::Continue
    }

    /// Runs the text of a `-c` option: a dot-command, or SQL statements.
    pub fn run_command(&mut self, text: &str) -> Flow {
        if text.trim_start().starts_with('.') {
            return self.dot_command(text.trim());
        }
        for stmt in split_statements(text) {
            self.run_statement(&stmt);
        }
        Flow::Continue
    }

    /// Runs a dot-command line such as `.mode csv`.
    pub fn dot_command(&mut self, line: &str) -> Flow {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or("");
        let args: Vec<&str> = words.collect();
        match (command, args.as_slice()) {
            (".quit" | ".exit" | ".q", _) => return Flow::Quit,
            (".help", _) => {
                let _ = write!(self.out, "{HELP}");
            }
            (".tables", _) => match table_names(&self.db) {
                Ok(names) => {
                    for n in names {
                        let _ = writeln!(self.out, "{n}");
                    }
                }
                Err(e) => self.error(e),
            },
            (".schema", rest) => {
                let names = match rest {
                    [] => table_names(&self.db),
                    names => Ok(names.iter().map(|s| s.to_string()).collect()),
                };
                match names {
                    Ok(names) => {
                        for n in names {
                            match table_meta(&self.db, &n) {
                                Ok(Some(meta)) => {
                                    let _ = writeln!(self.out, "{}", create_statement(&meta));
                                }
                                Ok(None) => self.error(format!("no such table: {n}")),
                                Err(e) => self.error(e),
                            }
                        }
                    }
                    Err(e) => self.error(e),
                }
            }
            (".mode", []) => {
                let _ = writeln!(self.out, "{}", self.mode.name());
            }
            (".mode", [m]) => match Mode::parse(m) {
                Some(mode) => self.mode = mode,
                None => self.error(format!("unknown mode {m}; use table, csv, json or line")),
            },
            (".timer", [v]) => match *v {
                "on" => self.timer = true,
                "off" => self.timer = false,
                _ => self.error("usage: .timer on|off"),
            },
            (".engine", []) => {
                let _ = writeln!(self.out, "{}", self.route.name());
            }
            (".engine", [r]) => match Route::parse(r) {
                Some(route) => match connect(&self.db, route) {
                    Ok(engine) => {
                        self.engine = engine;
                        self.route = route;
                    }
                    Err(e) => self.error(e),
                },
                None => self.error(format!("unknown engine {r}; use datafusion or native")),
            },
            (".read", [file]) => match std::fs::read_to_string(file) {
                Ok(text) => return self.run_script(&text),
                Err(e) => self.error(format!("cannot read {file}: {e}")),
            },
            (".import", [file, table]) => self.import(Path::new(file), table),
            (".open", [file]) => self.reopen(Some(Path::new(file))),
            (".open", []) => self.reopen(None),
            _ => self.error(format!("unknown or malformed command {line}; try .help")),
        }
        let _ = self.out.flush();
        Flow::Continue
    }

    /// Imports a CSV file into `table`, creating it from the file's header and
    /// inferred types when it does not exist; stops at the first failure.
    fn import(&mut self, file: &Path, table: &str) {
        let create = match table_meta(&self.db, table) {
            Ok(meta) => meta.is_none(),
            Err(e) => return self.error(e),
        };
        let statements = match crate::import::csv_statements(file, table, create) {
            Ok(s) => s,
            Err(e) => return self.error(e),
        };
        for stmt in statements {
            if let Err(e) = self.engine.execute(&stmt) {
                return self.error(format!("import stopped: {}", e.message));
            }
        }
    }

    /// Switches to another database; the old one stays open if this fails.
    fn reopen(&mut self, path: Option<&Path>) {
        let same = path.is_some() && path.map(Path::to_path_buf) == self.path;
        if same {
            return;
        }
        match open(path).and_then(|db| connect(&db, self.route).map(|e| (db, e))) {
            Ok((db, engine)) => {
                self.engine = engine;
                self.db = db;
                self.path = path.map(Path::to_path_buf);
            }
            Err(e) => self.error(e),
        }
    }
}

/// The text of `.help`.
pub const HELP: &str = "\
.help                     show this help
.tables                   list the tables
.schema [TABLE...]        show CREATE TABLE statements
.mode [table|csv|json|line]  show or set the output mode
.timer on|off             print each statement's run time
.engine [datafusion|native]  show or switch the SQL route (a new session)
.read FILE                run the statements of FILE
.import FILE TABLE        load a CSV file (header line) into TABLE, creating it if needed
.open [FILE]              open another database (in memory without FILE)
.quit                     exit (also .exit, Ctrl-D)
SQL statements end with ';' and may span lines.
";
