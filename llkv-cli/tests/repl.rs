//! The REPL through a pseudo-terminal, using util-linux `script` to give the
//! shell a terminal (the test is skipped where `script` is missing). Lines are
//! typed one at a time, as a user would.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                while let Some(&n) = chars.peek() {
                    chars.next();
                    if n.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_repl_runs_multi_line_statements_reports_errors_and_exits_on_ctrl_d() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new("script")
        .args(["-qec", env!("CARGO_BIN_EXE_llkv"), "/dev/null"])
        .env("HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    for line in ["SELECT", " 1 AS one;", "SELEC;", ".mode csv", "SELECT 2 AS two;"] {
        stdin.write_all(format!("{line}\r").as_bytes()).unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    stdin.write_all(b"\x04").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = strip_escapes(&String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("llkv> SELECT\n   ...>  1 AS one;\n"), "{text}");
    assert!(text.contains("| one |\n+-----+\n|   1 |\n"), "{text}");
    assert!(text.contains("Error: "), "the error is shown and the REPL goes on: {text}");
    assert!(text.contains("two\n2\n"), "{text}");
    let history = std::fs::read_to_string(home.path().join(".llkv_history")).unwrap();
    assert!(history.contains("SELECT 2 AS two;"), "{history}");
}
