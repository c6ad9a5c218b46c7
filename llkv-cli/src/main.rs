//! `llkv`: the llkv SQL shell.
//!
//! ```text
//! llkv [OPTIONS] [DATABASE]
//!   DATABASE               a database file (created on first use); in memory without it
//!   -c, --command SQL      run SQL (or a dot-command); repeatable; then exit
//!   -f, --file PATH        run a script file; then exit
//!   --engine datafusion|native   the SQL route (default datafusion)
//!   --mode table|csv|json|line   the output mode (default table)
//!   --readonly             open the database read-only (writes fail; other
//!                          read-only shells may share the file)
//! ```
//!
//! Without -c or -f: a REPL when stdin is a terminal, otherwise the statements
//! read from stdin. A failing statement prints `Error: …` on stderr; the exit
//! code is then 1 (the REPL just continues). A database that cannot be opened
//! exits with 1 and a one-line error. In the REPL, Ctrl-C cancels the running
//! statement (the shell stays), and Ctrl-D exits.

use clap::Parser;
use llkv_cli::{Flow, Mode, OpenOptions, Route, Shell, repl, shell};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: statements allocate many small
/// short-lived buffers (one-row arrays, values, keys), and glibc's malloc
/// made a single-row UPDATE about 20% slower (README, "Allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The llkv SQL shell.
#[derive(Debug, Parser)]
#[command(name = "llkv", version)]
struct Args {
    /// Database file (created on first use); in memory when omitted.
    database: Option<PathBuf>,
    /// Run this SQL (or dot-command) and exit; repeatable, run in order.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    commands: Vec<String>,
    /// Run the statements of this file and exit.
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    file: Option<PathBuf>,
    /// The SQL route.
    #[arg(long, value_enum, default_value = "datafusion")]
    engine: Route,
    /// How results are printed.
    #[arg(long, value_enum, default_value = "table")]
    mode: Mode,
    /// Open the database read-only: every write fails; other read-only
    /// shells may open the file at the same time.
    #[arg(long)]
    readonly: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let out = Box::new(std::io::BufWriter::new(std::io::stdout()));
    let options = OpenOptions { read_only: args.readonly };
    let opened = Shell::open_with(args.database.as_deref(), args.engine, args.mode, out, options);
    let mut shell = match opened {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (stdout_tty, stderr_tty) = shell::terminals();
    shell.set_terminal(stdout_tty, stderr_tty);
    if !args.commands.is_empty() || args.file.is_some() {
        for c in &args.commands {
            if shell.run_command(c) == Flow::Quit {
                return exit(&shell);
            }
        }
        if let Some(f) = &args.file {
            match std::fs::read_to_string(f) {
                Ok(text) => {
                    shell.run_script(&text);
                }
                Err(e) => {
                    eprintln!("Error: cannot read {}: {e}", f.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        return exit(&shell);
    }
    if std::io::stdin().is_terminal() {
        shell.interactive = true;
        // Ctrl-C while a statement runs cancels it; at the prompt the line
        // editor reads it as a key and drops the current input.
        let cancel = shell.cancel_flag();
        if let Err(e) = ctrlc::set_handler(move || cancel.cancel()) {
            eprintln!("warning: Ctrl-C will end the shell: {e}");
        }
        if let Err(e) = repl::run(&mut shell) {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS;
    }
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("Error: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    shell.run_script(&text);
    exit(&shell)
}

fn exit(shell: &Shell) -> ExitCode {
    if shell.failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
