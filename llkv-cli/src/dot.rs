//! The dot-commands (`.help`, `.tables`, `.import`, …).

use crate::database::{create_statement, table_meta, table_names};
use crate::import::FileFormat;
use crate::output::Mode;
use crate::shell::{Flow, Route, Shell, connect};
use std::io::Write;
use std::path::Path;

/// The text of `.help`.
pub const HELP: &str = "\
.help                       show this help
.tables                     list the tables
.schema [TABLE...]          show CREATE TABLE statements
.mode [table|csv|json|line] show or set the output mode
.nullvalue [TEXT]           show or set how NULL is shown (default NULL)
.timer on|off               print each statement's run time
.engine [datafusion|native] show or switch the SQL route (a new session)
.read FILE                  run the statements of FILE
.import FILE TABLE          load a CSV (header line) or Parquet file into TABLE,
                            creating TABLE from the file's schema if needed
.export FILE [QUERY]        write QUERY's rows, or the last result, to FILE
                            (.parquet/.pq: Parquet, else CSV)
.open [FILE]                open another database (in memory without FILE)
.quit                       exit (also .exit, Ctrl-D)
SQL statements end with ';' and may span lines; Ctrl-C cancels a running
statement. COPY t TO 'f.csv', COPY (query) TO 'f.parquet' (FORMAT parquet)
and COPY t FROM 'f.csv' read and write files on both routes.
";

impl Shell {
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
            (".schema", rest) => self.schema(rest),
            (".mode", []) => {
                let _ = writeln!(self.out, "{}", self.mode.name());
            }
            (".mode", [m]) => match Mode::parse(m) {
                Some(mode) => self.mode = mode,
                None => self.error(format!("unknown mode {m}; use table, csv, json or line")),
            },
            (".nullvalue", []) => {
                let _ = writeln!(self.out, "{}", self.null_value);
            }
            (".nullvalue", _) => {
                // The rest of the line, spaces included.
                let text = line.trim_start()[".nullvalue".len()..].trim();
                self.null_value = text.trim_matches('"').to_string();
            }
            (".timer", [v]) => match *v {
                "on" => self.timer = true,
                "off" => self.timer = false,
                _ => self.error("usage: .timer on|off"),
            },
            (".engine", []) => {
                let _ = writeln!(self.out, "{}", self.route.name());
            }
            (".engine", [r]) => match Route::parse(r) {
                Some(route) => match connect(&self.db, route, &self.cancel_flag()) {
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
            (".export", [file]) => self.export_last(Path::new(file)),
            (".export", [file, ..]) => {
                // The query is the rest of the line.
                let rest = line.trim_start()[".export".len()..].trim_start();
                let query = rest[file.len()..].trim().trim_end_matches(';').to_string();
                let path = Path::new(file);
                self.export_query(path, FileFormat::of_path(path), true, &query);
            }
            (".open", [file]) => self.reopen(Some(Path::new(file))),
            (".open", []) => self.reopen(None),
            _ => self.error(format!("unknown or malformed command {line}; try .help")),
        }
        let _ = self.out.flush();
        Flow::Continue
    }

    fn schema(&mut self, names: &[&str]) {
        let names = match names {
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
}
