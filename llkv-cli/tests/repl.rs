//! The REPL through a pseudo-terminal, using util-linux `script` to give the
//! shell a terminal (the tests are skipped where `script` is missing). Lines
//! are typed one at a time, as a user would; Ctrl-C and Ctrl-D are sent as
//! the bytes a terminal sends.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

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

fn have_script() -> bool {
    let ok = Command::new("script").arg("--version").output().is_ok();
    if !ok {
        eprintln!("skipped: util-linux `script` is not installed");
    }
    ok
}

/// `llkv ARGS` on a terminal of `cols` columns, with HOME at `home`.
fn spawn_repl(home: &Path, cols: u16, args: &str) -> (Child, ChildStdin) {
    let cmd = format!("stty cols {cols} rows 50; exec {} {args}", env!("CARGO_BIN_EXE_llkv"));
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("HOME", home)
        .env("TERM", "xterm")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(700));
    (child, stdin)
}

fn type_line(stdin: &mut ChildStdin, line: &str, pause_ms: u64) {
    stdin.write_all(format!("{line}\r").as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(pause_ms));
}

/// Waits for the shell to exit (killing it after `limit`) and returns its screen text.
fn finish(mut child: Child, stdin: ChildStdin, limit: Duration) -> (bool, String) {
    drop(stdin);
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let text = strip_escapes(&String::from_utf8_lossy(&out.stdout));
    (out.status.success() && start.elapsed() <= limit, text)
}

#[test]
fn the_repl_runs_multi_line_statements_reports_errors_and_exits_on_ctrl_d() {
    if !have_script() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let (child, mut stdin) = spawn_repl(home.path(), 100, "");
    for line in ["SELECT", " 1 AS one;", "SELEC;", ".mode csv", "SELECT 2 AS two;"] {
        type_line(&mut stdin, line, 300);
    }
    stdin.write_all(b"\x04").unwrap();
    let (ok, text) = finish(child, stdin, Duration::from_secs(30));
    assert!(ok, "{text}");
    assert!(text.contains("llkv> SELECT\n   ...>  1 AS one;\n"), "{text}");
    assert!(text.contains("| one |\n+-----+\n|   1 |\n"), "{text}");
    assert!(
        text.contains("Error: syntax error"),
        "the error is shown and the REPL goes on: {text}"
    );
    assert!(text.contains("  SELEC\n  ^"), "the caret marks where the parser stopped: {text}");
    assert!(text.contains("two\n2\n"), "{text}");
    let history = std::fs::read_to_string(home.path().join(".llkv_history")).unwrap();
    assert!(history.contains("SELECT 2 AS two;"), "{history}");
}

#[test]
fn ctrl_c_at_the_prompt_drops_the_unfinished_statement() {
    if !have_script() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let (child, mut stdin) = spawn_repl(home.path(), 100, "--mode csv");
    type_line(&mut stdin, "SELECT 'half", 300);
    stdin.write_all(b"\x03").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    type_line(&mut stdin, "SELECT 3 AS three;", 400);
    stdin.write_all(b"\x04").unwrap();
    let (ok, text) = finish(child, stdin, Duration::from_secs(30));
    assert!(ok, "{text}");
    assert!(text.contains("three\n3\n"), "{text}");
    assert!(!text.contains("Error"), "{text}");
}

/// A database with `t(x)` holding 0..rows.
fn big_database(dir: &Path, rows: usize) -> String {
    let db = dir.join("big.llkv");
    let values: Vec<String> = (0..rows).map(|i| format!("({i})")).collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_llkv"))
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sql = format!("CREATE TABLE t(x INTEGER);\nINSERT INTO t VALUES {};\n", values.join(","));
    child.stdin.take().unwrap().write_all(sql.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    db.display().to_string()
}

#[test]
fn ctrl_c_cancels_a_running_statement_and_the_repl_goes_on() {
    if !have_script() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = big_database(dir.path(), 20_000);
    let long = [
        (
            "native",
            "SELECT count(*) FROM t a WHERE (SELECT count(*) FROM t b WHERE b.x < a.x) < 0;",
        ),
        ("datafusion", "SELECT sum(value % 7) FROM generate_series(1, 1000000000000);"),
    ];
    for (route, query) in long {
        let (child, mut stdin) = spawn_repl(dir.path(), 100, &format!("--engine {route} {db}"));
        // Long enough for the progress spinner (after 1 s) to show.
        type_line(&mut stdin, query, 1800);
        stdin.write_all(b"\x03").unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        type_line(&mut stdin, "SELECT count(*) AS n FROM t;", 800);
        stdin.write_all(b"\x04").unwrap();
        let (ok, text) = finish(child, stdin, Duration::from_secs(60));
        assert!(ok, "[{route}] the shell must survive Ctrl-C and exit on Ctrl-D: {text}");
        assert!(text.contains("Error: statement cancelled"), "[{route}] {text}");
        assert!(text.contains("running"), "[{route}] the spinner showed: {text}");
        assert!(text.contains("| 20000 |"), "[{route}] the next statement ran: {text}");
    }
}

#[test]
fn wide_results_fit_the_terminal_and_nulls_are_marked() {
    if !have_script() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let (child, mut stdin) = spawn_repl(home.path(), 40, "");
    let wide = "x".repeat(80);
    type_line(&mut stdin, &format!("SELECT 12345 AS n, '{wide}' AS w, NULL AS z;"), 600);
    stdin.write_all(b"\x04").unwrap();
    let (ok, text) = finish(child, stdin, Duration::from_secs(30));
    assert!(ok, "{text}");
    let table: Vec<&str> =
        text.lines().filter(|l| l.starts_with('|') || l.starts_with('+')).collect();
    assert!(!table.is_empty(), "{text}");
    for l in &table {
        assert!(l.chars().count() <= 40, "{l:?} is wider than the terminal:\n{text}");
    }
    assert!(
        table.iter().any(|l| l.contains("12345") && l.contains('…') && l.contains("NULL")),
        "{text}"
    );
}
