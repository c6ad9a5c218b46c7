//! A shell session: the open database, the engine (route) on it, the output
//! settings, and running statements, `COPY`, imports and exports. The
//! dot-commands are in [`crate::dot`].

use crate::database::{first_write, open, open_read_only, table_meta};
use crate::diagnostic;
use crate::export::{self, Copy};
use crate::import::{self, CHUNK, FileFormat};
use crate::output::{Mode, Style, print_rows_styled};
use crate::progress::{StatementSpinner, import_bar};
use crate::split::{Splitter, split_statements};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_provider::DataFusionEngine;
use llkv_sql::{CancelFlag, Engine, ErrorKind, Output, SqlError};
use std::io::{IsTerminal, Write};
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

/// How a shell opens its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpenOptions {
    /// Open read-only (`--readonly`): writes fail, other readers may share the file.
    pub read_only: bool,
}

/// One shell session.
pub struct Shell {
    pub(crate) engine: Box<dyn Engine>,
    pub(crate) db: Database,
    pub(crate) route: Route,
    pub(crate) path: Option<PathBuf>,
    pub(crate) options: OpenOptions,
    /// How results are printed.
    pub mode: Mode,
    /// How NULL is shown in table and line modes (`.nullvalue`).
    pub null_value: String,
    /// Print each statement's time (`.timer on`).
    pub timer: bool,
    /// Whether the user is at a terminal (prints row counts for changes).
    pub interactive: bool,
    /// Set when any statement or command failed.
    pub failed: bool,
    /// Set by Ctrl-C to stop the running statement.
    cancel: CancelFlag,
    /// The last query's result, for `.export FILE`.
    last: Option<(SchemaRef, Vec<RecordBatch>)>,
    pub(crate) out: Box<dyn Write>,
    /// Whether `out` is the terminal (fit tables to its width, dim NULLs).
    out_is_terminal: bool,
    /// Whether progress may be drawn on stderr.
    progress: bool,
}

pub(crate) fn connect(
    db: &Database,
    route: Route,
    cancel: &CancelFlag,
) -> Result<Box<dyn Engine>, String> {
    let mut engine: Box<dyn Engine> = match route {
        Route::Datafusion => {
            Box::new(DataFusionEngine::new(db.clone()).map_err(|e| e.message.clone())?)
        }
        Route::Native => Box::new(NativeEngine::new(db.clone())),
    };
    engine.set_cancel_flag(cancel.clone());
    Ok(engine)
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
        Self::open_with(path, route, mode, out, OpenOptions::default())
    }

    /// Opens the database at `path` with `options`.
    ///
    /// # Errors
    /// A one-line message when the database cannot be opened.
    pub fn open_with(
        path: Option<&Path>,
        route: Route,
        mode: Mode,
        out: Box<dyn Write>,
        options: OpenOptions,
    ) -> Result<Self, String> {
        let db = if options.read_only { open_read_only(path)? } else { open(path)? };
        let cancel = CancelFlag::new();
        let engine = connect(&db, route, &cancel)?;
        Ok(Self {
            engine,
            db,
            route,
            path: path.map(Path::to_path_buf),
            options,
            mode,
            null_value: "NULL".into(),
            timer: false,
            interactive: false,
            failed: false,
            cancel,
            last: None,
            out,
            out_is_terminal: false,
            progress: false,
        })
    }

    /// Tells the shell that stdout is a terminal (tables fit its width, NULLs
    /// are dimmed) and whether progress may be drawn on stderr.
    pub fn set_terminal(&mut self, stdout: bool, stderr: bool) {
        self.out_is_terminal = stdout;
        self.progress = stderr;
    }

    /// The flag that stops the running statement (Ctrl-C sets it).
    pub fn cancel_flag(&self) -> CancelFlag {
        self.cancel.clone()
    }

    pub(crate) fn error(&mut self, message: impl std::fmt::Display) {
        let _ = self.out.flush();
        eprintln!("Error: {message}");
        self.failed = true;
    }

    /// Reports a statement's error; a parse error shows where the parser stopped.
    fn statement_error(&mut self, sql: &str, e: &SqlError) {
        if e.kind != ErrorKind::Parse {
            return self.error(&e.message);
        }
        let message = diagnostic::clean(&e.message);
        self.error(&message);
        if let Some((line, column)) = diagnostic::position(&message)
            && let Some(caret) = diagnostic::caret(sql, line, column)
        {
            eprintln!("{caret}");
        }
    }

    fn style(&self) -> Style {
        let max_width = if self.out_is_terminal {
            console::Term::stdout().size_checked().map(|(_, cols)| usize::from(cols))
        } else {
            None
        };
        Style { max_width, null: self.null_value.clone(), dim_null: self.out_is_terminal }
    }

    /// Runs `sql` on the engine with Ctrl-C armed, a spinner after a second,
    /// and a route panic turned into an error.
    fn execute(&mut self, sql: &str) -> Result<Vec<Output>, SqlError> {
        self.cancel.reset();
        let spinner = StatementSpinner::start(self.progress);
        let engine = &mut self.engine;
        let route = self.route;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.execute(sql)))
            .unwrap_or_else(|panic| {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(SqlError::new(
                    ErrorKind::Internal,
                    format!("internal error (the {} route panicked): {msg}", route.name()),
                ))
            });
        spinner.finish();
        result
    }

    /// Runs one SQL statement and prints its result. Errors go to stderr as
    /// `Error: …` and set [`Shell::failed`].
    pub fn run_statement(&mut self, sql: &str) {
        let start = Instant::now();
        // COPY … TO only reads; COPY … FROM is checked as an import.
        let copy = export::is_copy(sql);
        let refused = if self.options.read_only && !copy { first_write(sql) } else { None };
        if let Some(what) = refused {
            self.error(format!("the database is open read-only (--readonly); {what} is refused"));
        } else if copy {
            self.copy(sql);
        } else {
            match self.execute(sql) {
                Ok(outputs) => self.print_outputs(outputs),
                Err(e) => self.statement_error(sql, &e),
            }
        }
        if self.timer {
            let _ = self.out.flush();
            eprintln!("Run Time: {:.3}s", start.elapsed().as_secs_f64());
        }
        let _ = self.out.flush();
    }

    fn print_outputs(&mut self, outputs: Vec<Output>) {
        let style = self.style();
        for o in outputs {
            let printed = match &o {
                Output::Rows { schema, batches } => {
                    print_rows_styled(self.out.as_mut(), self.mode, schema, batches, &style)
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
            if let Output::Rows { schema, batches } = o {
                self.last = Some((schema, batches));
            }
        }
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

    /// `COPY … TO 'file'` / `COPY table FROM 'file'`.
    fn copy(&mut self, sql: &str) {
        let copy = match export::parse_copy(sql) {
            Ok(c) => c,
            Err(e) => return self.error(e),
        };
        match copy {
            Copy { to: false, table: Some(table), path, .. } => self.import(&path, &table),
            Copy { query, path, format, header, .. } => {
                self.export_query(&path, format, header, &query);
            }
        }
    }

    /// Runs `query` and writes its rows to `path`.
    pub(crate) fn export_query(
        &mut self,
        path: &Path,
        format: FileFormat,
        header: bool,
        query: &str,
    ) {
        match self.execute(query) {
            Ok(outputs) => match outputs.into_iter().last() {
                Some(Output::Rows { schema, batches }) => {
                    self.write_export(path, format, header, &schema, &batches);
                }
                _ => self.error("the exported statement returned no rows"),
            },
            Err(e) => self.statement_error(query, &e),
        }
    }

    /// `.export FILE` without a query: the last query's result.
    pub(crate) fn export_last(&mut self, path: &Path) {
        match self.last.take() {
            Some((schema, batches)) => {
                self.write_export(path, FileFormat::of_path(path), true, &schema, &batches);
                self.last = Some((schema, batches));
            }
            None => self.error("no query result to export yet; run a query or give one"),
        }
    }

    fn write_export(
        &mut self,
        path: &Path,
        format: FileFormat,
        header: bool,
        schema: &SchemaRef,
        batches: &[RecordBatch],
    ) {
        match export::write_file(path, format, header, schema, batches) {
            Ok(n) if self.interactive => {
                let _ = writeln!(self.out, "{n} row{} written", if n == 1 { "" } else { "s" });
            }
            Ok(_) => {}
            Err(e) => self.error(e),
        }
    }

    /// Imports a CSV or Parquet file into `table`, creating it from the
    /// file's schema when it does not exist; stops at the first failure
    /// (Ctrl-C too). Rows already inserted stay unless inside BEGIN … COMMIT.
    pub(crate) fn import(&mut self, file: &Path, table: &str) {
        if self.options.read_only {
            return self.error("the database is open read-only (--readonly); import is refused");
        }
        let exists = match table_meta(&self.db, table) {
            Ok(meta) => meta.is_some(),
            Err(e) => return self.error(e),
        };
        let source = match import::open_source(file, CHUNK) {
            Ok(s) => s,
            Err(e) => return self.error(e),
        };
        let progress = source.progress.clone();
        let bar = import_bar(self.progress, progress.total, progress.bytes, table);
        if !exists {
            let create = import::create_statement(table, &source.schema);
            if let Err(e) = self.execute(&create) {
                bar.finish_and_clear();
                return self.error(format!("import: cannot create {table}: {}", e.message));
            }
        }
        self.cancel.reset();
        let mut rows = 0u64;
        for batch in source {
            if self.cancel.is_cancelled() {
                bar.finish_and_clear();
                return self.error(format!("import cancelled after {rows} rows"));
            }
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    bar.finish_and_clear();
                    return self.error(format!("import stopped after {rows} rows: {e}"));
                }
            };
            if batch.num_rows() == 0 {
                continue;
            }
            let result = import::insert_statement(table, &batch)
                .map_err(|e| e.to_string())
                .and_then(|sql| self.engine.execute(&sql).map_err(|e| e.message));
            if let Err(e) = result {
                bar.finish_and_clear();
                return self.error(format!("import stopped after {rows} rows: {e}"));
            }
            rows += batch.num_rows() as u64;
            bar.set_position(progress.done());
        }
        bar.finish_and_clear();
        if self.interactive {
            let _ = writeln!(self.out, "{rows} row{} imported", if rows == 1 { "" } else { "s" });
        }
    }

    /// Switches to another database; the old one stays open if this fails.
    pub(crate) fn reopen(&mut self, path: Option<&Path>) {
        let same = path.is_some() && path.map(Path::to_path_buf) == self.path;
        if same {
            return;
        }
        let opened = if self.options.read_only { open_read_only(path) } else { open(path) };
        match opened.and_then(|db| connect(&db, self.route, &self.cancel).map(|e| (db, e))) {
            Ok((db, engine)) => {
                // The old engine (and its database handle and lock) go first.
                self.engine = engine;
                self.db = db;
                self.path = path.map(Path::to_path_buf);
                self.last = None;
            }
            Err(e) => self.error(e),
        }
    }
}

/// Whether stdout and stderr are terminals.
pub fn terminals() -> (bool, bool) {
    (std::io::stdout().is_terminal(), std::io::stderr().is_terminal())
}
