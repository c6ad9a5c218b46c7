//! The `llkv-slt` binary: per-file lines, the final `N passed, N failed`
//! line, exit codes, and the JSON report.

use std::process::Command;

const PASSING: &str = "statement ok\nCREATE TABLE t(a INTEGER)\n\nstatement ok\nINSERT INTO t VALUES (1), (2)\n\n\
                       query I rowsort\nSELECT a FROM t\n----\n1\n2\n";
const FAILING: &str =
    "statement ok\nCREATE TABLE t(a INTEGER)\n\nquery I\nSELECT count(*) FROM t\n----\n5\n";

#[test]
fn the_last_line_counts_records_and_failures_set_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.slt"), PASSING).unwrap();
    std::fs::write(dir.path().join("b.test"), FAILING).unwrap();
    let report = dir.path().join("out.json");
    let bin = env!("CARGO_BIN_EXE_llkv-slt");

    let o = Command::new(bin)
        .args(["--engine", "both", "--backend", "memory,file", "--report"])
        .arg(&report)
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    // 3 records in a.slt and 2 in b.test, each on 4 combinations; b.test's query fails.
    assert_eq!(text.lines().last(), Some("16 passed, 4 failed"), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.contains("a.slt  ") && l.contains(" passed  ")).count(),
        4,
        "{text}"
    );
    assert!(text.contains("native/df"), "the comparison table is printed: {text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["passed"], 16);
    assert_eq!(json["runs"].as_array().unwrap().len(), 8);

    let o = Command::new(bin)
        .args(["--engine", "native", "--allow-failures", "--verbose"])
        .arg(dir.path().join("b.test"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("FAIL "), "{text}");
    assert_eq!(text.lines().last(), Some("1 passed, 1 failed"));

    let o = Command::new(bin).arg(dir.path().join("a.slt")).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let o = Command::new(bin).arg(dir.path().join("missing")).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_differential_mode_lists_queries_and_statements_whose_results_differ() {
    // ORDER BY puts NULLs first on the native route (SQLite) and last on
    // DataFusion: the same query gives rows in another order. The file
    // expects nothing of the `statement ok` SELECT; it is compared all the same.
    let script = "statement ok\nCREATE TABLE t(a INTEGER, b INTEGER)\n\n\
                  statement ok\nINSERT INTO t VALUES (1, 2), (3, NULL)\n\n\
                  statement ok\nSELECT a FROM t ORDER BY b\n\n\
                  query I\nSELECT a FROM t ORDER BY a\n----\n1\n3\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.slt"), script).unwrap();
    let report = dir.path().join("d.json");
    let o = Command::new(env!("CARGO_BIN_EXE_llkv-slt"))
        .args(["--differential", "--report"])
        .arg(&report)
        .arg(dir.path().join("d.slt"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "every record passes: {text}");
    assert!(text.contains("1 queries differ between"), "{text}");
    assert!(text.contains("SELECT a FROM t ORDER BY b"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let diffs = json["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{json}");
    assert!(diffs[0].to_string().contains("ORDER BY b"), "{json}");
}
