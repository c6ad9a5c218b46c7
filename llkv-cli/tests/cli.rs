//! The `llkv` binary as a spawned process: options, modes, exit codes, piped
//! stdin, dot-commands, persistence, and bad input.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn llkv(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llkv"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the llkv binary runs")
}

fn llkv_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_llkv"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the llkv binary runs");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

fn assert_one_line_error(o: &Output, contains: &str) {
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.to_lowercase().contains(contains), "{err} should mention {contains}");
    assert!(!err.contains("panicked"), "{err}");
}

const SETUP: &str = "CREATE TABLE t(id INTEGER, name TEXT); \
                     INSERT INTO t VALUES (1, 'a'), (2, NULL), (3, 'c,d');";

#[test]
fn help_and_version_exit_zero() {
    let o = llkv(&["--help"]);
    assert_ok(&o);
    for word in ["--command", "--file", "--engine", "--mode", "DATABASE"] {
        assert!(stdout(&o).contains(word), "{word} missing from --help");
    }
    assert_ok(&llkv(&["--version"]));
}

#[test]
fn an_unknown_option_value_is_a_usage_error() {
    assert_eq!(llkv(&["--mode", "xml", "-c", "SELECT 1"]).status.code(), Some(2));
    assert_eq!(llkv(&["--engine", "sqlite", "-c", "SELECT 1"]).status.code(), Some(2));
}

#[test]
fn a_failing_statement_prints_an_error_and_exits_non_zero() {
    let o = llkv(&["-c", "SELEC 1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("Error: "), "{}", stderr(&o));
    let o = llkv(&["--engine", "native", "-c", "SELECT * FROM no_such_table"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("Error: "));
}

#[test]
fn dot_commands_work_from_command_options() {
    let o = llkv(&["-c", ".help"]);
    assert_ok(&o);
    assert!(stdout(&o).contains(".tables"));
    assert!(stdout(&o).contains(".mode"));
    let o = llkv(&["-c", ".tables"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "");
    let o = llkv(&["-c", ".mode json", "-c", ".mode"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "json\n");
    let o = llkv(&["-c", ".engine native", "-c", ".engine"]);
    assert_eq!(stdout(&o), "native\n");
    assert_eq!(llkv(&["-c", ".nonsense"]).status.code(), Some(1));
}

#[test]
fn quit_stops_before_later_commands() {
    let o = llkv(&["-c", ".quit", "-c", "SELEC 1"]);
    assert_ok(&o);
    let o = llkv_stdin(&[], ".quit\nSELEC 1;\n");
    assert_ok(&o);
}

#[test]
fn piped_stdin_runs_its_statements_and_dot_commands() {
    let o = llkv_stdin(&[], ".help\n");
    assert_ok(&o);
    assert!(stdout(&o).contains(".quit"));
    let o = llkv_stdin(&[], "SELEC 1;\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("Error: "));
}

#[test]
fn a_missing_script_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = llkv(&["-f", dir.path().join("nope.sql").to_str().unwrap()]);
    assert_one_line_error(&o, "cannot read");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let content = b"these are my notes, not a database\n".repeat(100);
    std::fs::write(&path, &content).unwrap();
    let o = llkv(&[path.to_str().unwrap(), "-c", "SELECT 1"]);
    assert_one_line_error(&o, "not an llkv database");
    assert_eq!(std::fs::read(&path).unwrap(), content);
}

#[test]
fn a_database_held_by_another_handle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    let held = llkv_mvcc::Database::open(&path).unwrap();
    let o = llkv(&[path.to_str().unwrap(), "-c", "SELECT 1"]);
    assert_one_line_error(&o, "already open");
    drop(held);
}

#[test]
fn a_database_in_a_missing_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/db.llkv");
    let o = llkv(&[path.to_str().unwrap(), "-c", "SELECT 1"]);
    assert_one_line_error(&o, "does not exist");
    assert!(!dir.path().join("no").exists());
}

fn query_in_mode(engine: &str, mode: &str) -> Output {
    llkv(&[
        "--engine",
        engine,
        "--mode",
        mode,
        "-c",
        SETUP,
        "-c",
        "SELECT id, name FROM t ORDER BY id",
    ])
}

#[test]
fn csv_mode_prints_a_header_then_rows() {
    for engine in ["datafusion", "native"] {
        let o = query_in_mode(engine, "csv");
        assert_ok(&o);
        assert_eq!(stdout(&o), "id,name\n1,a\n2,\n3,\"c,d\"\n", "{engine}");
    }
}

#[test]
fn json_mode_prints_one_array_of_objects() {
    for engine in ["datafusion", "native"] {
        let o = query_in_mode(engine, "json");
        assert_ok(&o);
        assert_eq!(
            stdout(&o),
            "[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"name\":null},{\"id\":3,\"name\":\"c,d\"}]\n",
            "{engine}"
        );
    }
}

#[test]
fn table_mode_is_the_default_and_shows_null() {
    for engine in ["datafusion", "native"] {
        let o =
            llkv(&["--engine", engine, "-c", SETUP, "-c", "SELECT id, name FROM t ORDER BY id"]);
        assert_ok(&o);
        assert_eq!(
            stdout(&o),
            "+----+------+\n| id | name |\n+----+------+\n|  1 | a    |\n|  2 | NULL |\n|  3 | c,d  |\n+----+------+\n",
            "{engine}"
        );
    }
}

#[test]
fn a_script_file_runs_with_multi_line_statements_and_quoted_semicolons() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.sql");
    std::fs::write(
        &script,
        "-- a comment; with a semicolon\nCREATE TABLE t(x TEXT);\nINSERT INTO t\n  VALUES ('a;b');\n\
         .mode csv\nSELECT x FROM t; /* ; */\n",
    )
    .unwrap();
    let o = llkv(&["-f", script.to_str().unwrap()]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "x\na;b\n");
}

#[test]
fn piped_statements_run_in_order() {
    let o = llkv_stdin(
        &["--mode", "csv"],
        "CREATE TABLE t(x INTEGER);\nINSERT INTO t VALUES (7);\nSELECT x FROM t;\n",
    );
    assert_ok(&o);
    assert_eq!(stdout(&o), "x\n7\n");
}

#[test]
fn data_persists_across_two_invocations_on_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.llkv");
    let db = db.to_str().unwrap();
    for engine in ["datafusion", "native"] {
        let table = format!("t_{engine}");
        let o = llkv(&[
            db,
            "--engine",
            engine,
            "-c",
            &format!("CREATE TABLE {table}(x INTEGER)"),
            "-c",
            &format!("INSERT INTO {table} VALUES (1), (2)"),
        ]);
        assert_ok(&o);
        let o = llkv(&[
            db,
            "--engine",
            engine,
            "--mode",
            "csv",
            "-c",
            &format!("SELECT sum(x) AS s FROM {table}"),
        ]);
        assert_ok(&o);
        assert_eq!(stdout(&o), "s\n3\n", "{engine}");
    }
    let o = llkv(&[db, "-c", ".tables"]);
    assert_eq!(stdout(&o), "t_datafusion\nt_native\n");
    assert!(Path::new(db).exists());
}

#[test]
fn errors_do_not_stop_the_remaining_statements() {
    let o = llkv(&[
        "--mode",
        "csv",
        "-c",
        "CREATE TABLE t(x INTEGER)",
        "-c",
        "SELEC",
        "-c",
        "INSERT INTO t VALUES (5)",
        "-c",
        "SELECT x FROM t",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "x\n5\n");
}

#[test]
fn schema_read_open_timer_and_line_mode_work() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.llkv");
    let o = llkv(&[
        db.to_str().unwrap(),
        "-c",
        "CREATE TABLE t(a INTEGER NOT NULL, b TEXT)",
        "-c",
        ".schema t",
        "-c",
        ".timer on",
        "-c",
        ".mode line",
        "-c",
        "SELECT 1 AS a, NULL AS bb",
    ]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "CREATE TABLE t (a INTEGER NOT NULL, b TEXT);\n a = 1\nbb = NULL\n");
    assert!(stderr(&o).contains("Run Time: "));
    let o = llkv(&["-c", ".schema nope"]);
    assert_eq!(o.status.code(), Some(1));

    let script = dir.path().join("s.sql");
    std::fs::write(&script, "SELECT 5 AS five;\n").unwrap();
    let other = dir.path().join("b.llkv");
    let o = llkv(&[
        "--mode",
        "csv",
        "-c",
        &format!(".read {}", script.display()),
        "-c",
        &format!(".open {}", other.display()),
        "-c",
        "CREATE TABLE u(x INTEGER)",
        "-c",
        ".tables",
    ]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "five\n5\nu\n");
    assert!(other.exists());
}

#[test]
fn import_loads_a_csv_file_into_a_new_table() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "id,name\n1,ann\n2,o'brien\n").unwrap();
    for engine in ["datafusion", "native"] {
        let o = llkv(&[
            "--engine",
            engine,
            "--mode",
            "csv",
            "-c",
            &format!(".import {} people", csv.display()),
            "-c",
            "SELECT id, name FROM people ORDER BY id",
        ]);
        assert_ok(&o);
        assert_eq!(stdout(&o), "id,name\n1,ann\n2,o'brien\n", "{engine}");
    }
}

#[test]
fn copy_and_export_write_csv_and_parquet_that_import_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    for engine in ["datafusion", "native"] {
        let (csv, pq, pq2, last) = (p("t.csv"), p("t.parquet"), p("q.pq"), p("last.csv"));
        let o = llkv(&[
            "--engine",
            engine,
            "--mode",
            "csv",
            "-c",
            SETUP,
            "-c",
            &format!("COPY t TO '{csv}'"),
            "-c",
            &format!("COPY (SELECT id, name FROM t WHERE id > 1) TO '{pq}' (FORMAT parquet)"),
            "-c",
            &format!(".export {pq2} SELECT id * 10 AS tens FROM t ORDER BY id"),
            "-c",
            "SELECT name FROM t WHERE id = 3",
            "-c",
            &format!(".export {last}"),
            "-c",
            &format!(".import {pq} back"),
            "-c",
            &format!(".import {pq2} tens"),
            "-c",
            "SELECT id, name FROM back ORDER BY id",
            "-c",
            "SELECT sum(tens) AS s FROM tens",
            "-c",
            ".schema back",
        ]);
        assert_ok(&o);
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), "id,name\n1,a\n2,\n3,\"c,d\"\n");
        assert_eq!(std::fs::read_to_string(&last).unwrap(), "name\n\"c,d\"\n");
        assert_eq!(
            stdout(&o),
            "name\n\"c,d\"\nid,name\n2,\n3,\"c,d\"\ns\n60\nCREATE TABLE back (id INTEGER, name TEXT);\n",
            "{engine}"
        );
    }
}

#[test]
fn copy_from_and_import_append_to_an_existing_table() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("more.csv");
    std::fs::write(&csv, "id,name\n7,g\n8,h\n").unwrap();
    for engine in ["datafusion", "native"] {
        let o = llkv(&[
            "--engine",
            engine,
            "--mode",
            "csv",
            "-c",
            SETUP,
            "-c",
            &format!("COPY t FROM '{}'", csv.display()),
            "-c",
            &format!(".import {} t", csv.display()),
            "-c",
            "SELECT count(*) AS n, sum(id) AS s FROM t",
        ]);
        assert_ok(&o);
        assert_eq!(stdout(&o), "n,s\n7,36\n", "{engine}");
    }
}

#[test]
fn bad_copy_and_export_commands_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv").display().to_string();
    for args in [
        vec!["-c", "COPY t TO STDOUT"],
        vec!["-c", "CREATE TABLE t(a INTEGER)", "-c", &format!("COPY t TO '{out}' (FORMAT xml)")],
        vec!["-c", &format!(".export {out}")],
        vec!["-c", &format!("COPY no_such_table TO '{out}'")],
        vec!["-c", ".import /no/such/file.parquet t"],
    ] {
        let o = llkv(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).starts_with("Error: "), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn nullvalue_changes_how_null_is_shown() {
    let o = llkv(&["-c", ".nullvalue (null)", "-c", ".nullvalue", "-c", "SELECT NULL AS n"]);
    assert_ok(&o);
    assert_eq!(stdout(&o), "(null)\n+--------+\n| n      |\n+--------+\n| (null) |\n+--------+\n");
}

#[test]
fn parser_errors_show_where_the_parser_stopped() {
    for engine in ["datafusion", "native"] {
        let o = llkv(&["--engine", engine, "-c", "SELECT 1,\n  2 FRM t"]);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(err.starts_with("Error: syntax error: "), "[{engine}] {err}");
        assert!(err.contains("Line: 2, Column: 9"), "[{engine}] {err}");
        assert!(err.ends_with("\n    2 FRM t\n          ^\n"), "[{engine}] {err:?}");
    }
}

#[test]
fn readonly_allows_queries_refuses_writes_and_shares_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ro.llkv");
    let db = db.to_str().unwrap();
    assert_ok(&llkv(&[db, "-c", SETUP]));
    let before = std::fs::read(db).unwrap();
    // Another read-only handle holds the file meanwhile: readers share it.
    let reader = llkv_mvcc::Database::open_read_only(db).unwrap();
    for engine in ["datafusion", "native"] {
        let o = llkv(&[
            db,
            "--readonly",
            "--engine",
            engine,
            "--mode",
            "csv",
            "-c",
            "SELECT count(*) AS n FROM t",
        ]);
        assert_ok(&o);
        assert_eq!(stdout(&o), "n\n3\n");
        for write in [
            "INSERT INTO t VALUES (4, 'd')",
            "DELETE FROM t",
            "UPDATE t SET id = 0",
            "CREATE TABLE u(a INTEGER)",
            "DROP TABLE t",
        ] {
            let o = llkv(&[db, "--readonly", "--engine", engine, "-c", write]);
            assert_one_line_error(&o, "read-only");
        }
        let o = llkv(&[db, "--readonly", "--engine", engine, "-c", ".import /dev/null t"]);
        assert_one_line_error(&o, "read-only");
        let out = dir.path().join(format!("{engine}.csv"));
        let copy = format!("COPY t TO '{}'", out.display());
        assert_ok(&llkv(&[db, "--readonly", "--engine", engine, "-c", &copy]));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "id,name\n1,a\n2,\n3,\"c,d\"\n");
    }
    // A writer is refused while a reader holds the file.
    assert_one_line_error(&llkv(&[db, "-c", "SELECT 1"]), "already open");
    drop(reader);
    assert_eq!(std::fs::read(db).unwrap(), before, "read-only opens changed the file");
    assert_one_line_error(&llkv(&["--readonly", "-c", "SELECT 1"]), "needs a database file");
    let missing = dir.path().join("missing.llkv");
    assert_one_line_error(
        &llkv(&[missing.to_str().unwrap(), "--readonly", "-c", "SELECT 1"]),
        "no such",
    );
    assert!(!missing.exists());
}
