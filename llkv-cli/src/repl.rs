//! The interactive loop: line editing and history (rustyline), multi-line
//! statements ended by `;`, dot-commands, Ctrl-C to drop the current input,
//! Ctrl-D to exit.

use crate::shell::{Flow, Shell};
use crate::split::Splitter;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;
use std::path::PathBuf;

/// The prompt for a new statement.
pub const PROMPT: &str = "llkv> ";
/// The prompt while a statement continues on the next line.
pub const CONTINUATION: &str = "   ...> ";

/// `~/.llkv_history`, when a home directory is known.
pub fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".llkv_history"))
}

/// Runs the REPL until `.quit` or end of input.
///
/// # Errors
/// When the line editor cannot start.
pub fn run(shell: &mut Shell) -> Result<(), String> {
    let mut editor =
        DefaultEditor::new().map_err(|e| format!("cannot start the line editor: {e}"))?;
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!("llkv {} — enter .help for help", env!("CARGO_PKG_VERSION"));
    let mut splitter = Splitter::new();
    loop {
        let prompt = if splitter.is_pending() { CONTINUATION } else { PROMPT };
        match editor.readline(prompt) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                if !splitter.is_pending() && line.trim_start().starts_with('.') {
                    if shell.dot_command(line.trim()) == Flow::Quit {
                        break;
                    }
                    continue;
                }
                for stmt in splitter.push(&format!("{line}\n")) {
                    shell.run_statement(&stmt);
                }
            }
            Err(ReadlineError::Interrupted) => {
                splitter.clear();
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("Error: {e}");
                break;
            }
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}
