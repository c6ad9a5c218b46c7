//! What the scan node takes over from DataFusion: filters (exact where the
//! store applies them as DataFusion would), limits and statistics, each
//! checked for both the plan it yields and the answers it gives.

mod common;
use common::*;
use llkv_provider::DataFusionEngine;

/// `t(x, s, f)`: x = 1..=10 with a NULL, s text, f float.
fn table() -> DataFusionEngine {
    let mut e = engine();
    run(&mut e, "CREATE TABLE t (x INTEGER, s TEXT, f DOUBLE)");
    run(
        &mut e,
        "INSERT INTO t VALUES (1, 'a', 0.5), (2, 'b', 1.5), (3, NULL, 2.5), (4, 'd', NULL), \
         (5, 'e', 4.5), (6, 'f', 5.5), (7, 'g', 6.5), (8, 'h', 7.5), (9, 'i', 8.5), \
         (10, 'j', 9.5), (NULL, 'n', 10.5)",
    );
    e
}

/// The physical plan part of an EXPLAIN.
fn plan(e: &mut DataFusionEngine, sql: &str) -> String {
    text(e, &format!("EXPLAIN {sql}"))
        .split("physical_plan")
        .nth(1)
        .map(str::to_string)
        .unwrap_or_default()
}

#[test]
fn simple_filters_are_applied_by_the_scan_alone() {
    let mut e = table();
    let p = plan(&mut e, "SELECT s FROM t WHERE x > 3 AND s <> 'e'");
    assert!(p.contains("LlkvScanExec"), "{p}");
    assert!(p.contains("filters=[x > Int64(3), s != Utf8View(\"e\")]"), "{p}");
    assert!(!p.contains("FilterExec"), "an exact filter is not applied twice: {p}");
    assert_eq!(
        rows(&mut e, "SELECT s FROM t WHERE x > 3 AND s <> 'e' ORDER BY s"),
        ["d", "f", "g", "h", "i", "j"]
    );
}

#[test]
fn exact_filters_keep_sql_null_semantics() {
    let mut e = table();
    // NULL never compares true: neither with <> nor in an IN list holding NULL.
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t WHERE x <> 5"), ["9"]);
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t WHERE x IN (1, 2, NULL)"), ["2"]);
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t WHERE x IS NULL"), ["1"]);
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t WHERE s IS NOT NULL AND x < 4"), ["2"]);
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t WHERE x BETWEEN 3 AND 5"), ["3"]);
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t WHERE f >= 4.5"), ["7"]);
    // A float IN list is pushed Inexact: DataFusion filters again.
    // (A list of up to three is turned into ORs before it reaches the provider.)
    let q = "SELECT x FROM t WHERE f IN (0.5, 1.5, 99.0, 100.0)";
    let p = plan(&mut e, q);
    assert!(p.contains("FilterExec") && p.contains("(inexact)"), "{p}");
    assert_eq!(rows(&mut e, &format!("{q} ORDER BY x")), ["1", "2"]);
    // Rows inserted by the running transaction are filtered the same way.
    run(&mut e, "BEGIN");
    run(&mut e, "INSERT INTO t VALUES (NULL, 'p', 1.0), (20, NULL, NULL)");
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t WHERE x <> 5"), ["10"]);
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t WHERE s IS NULL"), ["2"]);
    run(&mut e, "ROLLBACK");
}

/// ORs on one column (a short IN list, ranges as in TPC-H Q19) are applied
/// by the scan, with SQL's NULL rules; an OR across columns is not.
#[test]
fn ors_on_one_column_are_applied_by_the_scan() {
    let mut e = table();
    let q = "SELECT x FROM t WHERE (x >= 1 AND x <= 2) OR (x >= 8 AND x <= 20) OR x = 5";
    let p = plan(&mut e, q);
    assert!(p.contains("LlkvScanExec") && !p.contains("FilterExec"), "{p}");
    assert_eq!(rows(&mut e, &format!("{q} ORDER BY x")), ["1", "2", "5", "8", "9", "10"]);
    let q = "SELECT x FROM t WHERE s IN ('a', 'e')";
    assert!(!plan(&mut e, q).contains("FilterExec"));
    assert_eq!(rows(&mut e, &format!("{q} ORDER BY x")), ["1", "5"]);
    let q = "SELECT count(*) FROM t WHERE x < 3 OR x > 9 OR x BETWEEN 5 AND 5";
    assert_eq!(rows(&mut e, q), ["4"]);
    // Across columns: DataFusion's filter.
    let q = "SELECT x FROM t WHERE x = 1 OR s = 'j'";
    assert!(plan(&mut e, q).contains("FilterExec"));
    assert_eq!(rows(&mut e, &format!("{q} ORDER BY x")), ["1", "10"]);
}

#[test]
fn a_limit_reaches_the_scan_and_stops_it() {
    let mut e = table();
    let p = plan(&mut e, "SELECT x FROM t LIMIT 3");
    assert!(p.contains("limit=3"), "{p}");
    assert_eq!(rows(&mut e, "SELECT x FROM t LIMIT 3").len(), 3);
    let p = plan(&mut e, "SELECT x FROM t WHERE x > 4 LIMIT 2");
    assert!(p.contains("limit=2") && p.contains("filters=[x > Int64(4)]"), "{p}");
    let got = rows(&mut e, "SELECT x FROM t WHERE x > 4 LIMIT 2");
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|v| v.parse::<i64>().is_ok_and(|x| x > 4)), "{got:?}");
    assert_eq!(rows(&mut e, "SELECT x FROM t WHERE x > 8 LIMIT 5").len(), 2);
    // A filter the store cannot apply keeps the limit above it.
    let got = rows(&mut e, "SELECT x FROM t WHERE x % 2 = 0 LIMIT 2");
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|v| v.parse::<i64>().is_ok_and(|x| x % 2 == 0)), "{got:?}");
}

#[test]
fn count_star_of_a_clean_table_comes_from_statistics() {
    let mut e = table();
    let p = plan(&mut e, "SELECT count(*) FROM t");
    assert!(!p.contains("LlkvScanExec"), "exact row count answers count(*): {p}");
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t"), ["11"]);
    assert_eq!(rows(&mut e, "SELECT min(x), max(x), count(x) FROM t"), ["1|10|10"]);
}

#[test]
fn statistics_are_not_trusted_after_deletes_or_in_a_transaction() {
    let mut e = table();
    run(&mut e, "DELETE FROM t WHERE x = 10");
    let p = plan(&mut e, "SELECT count(*) FROM t");
    assert!(p.contains("LlkvScanExec"), "deleted row versions make the count inexact: {p}");
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t"), ["10"]);
    assert_eq!(rows(&mut e, "SELECT min(x), max(x), count(x) FROM t"), ["1|9|9"]);
    run(&mut e, "CREATE TABLE u (a INTEGER)");
    run(&mut e, "INSERT INTO u VALUES (1), (2), (3)");
    run(&mut e, "BEGIN");
    run(&mut e, "DELETE FROM u WHERE a = 3");
    run(&mut e, "INSERT INTO u VALUES (7), (8)");
    assert_eq!(rows(&mut e, "SELECT count(*), max(a), min(a) FROM u"), ["4|8|1"]);
    run(&mut e, "ROLLBACK");
    assert_eq!(rows(&mut e, "SELECT count(*), max(a) FROM u"), ["3|3"]);
    run(&mut e, "UPDATE u SET a = 10 WHERE a = 1");
    assert_eq!(rows(&mut e, "SELECT count(*), max(a), min(a) FROM u"), ["3|10|2"]);
}

#[test]
fn an_empty_projection_counts_rows_under_a_filter() {
    let mut e = table();
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t WHERE x > 5"), ["5"]);
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t WHERE x > 100"), ["0"]);
    run(&mut e, "CREATE TABLE empty (a INTEGER)");
    assert_eq!(rows(&mut e, "SELECT count(*), max(a) FROM empty"), ["0|"]);
}

#[test]
fn explain_analyze_shows_the_rows_the_scan_handed_out() {
    let mut e = table();
    let p = text(&mut e, "EXPLAIN ANALYZE SELECT x FROM t WHERE x > 3");
    let scan = p.lines().find(|l| l.contains("LlkvScanExec")).unwrap_or_default();
    assert!(scan.contains("output_rows=7"), "{p}");
    assert!(scan.contains("elapsed_compute="), "{p}");
}

#[test]
fn a_filter_estimate_reads_the_bounds_of_filtered_columns_the_scan_does_not_return() {
    let mut e = engine();
    run(&mut e, "CREATE TABLE d (x INTEGER, day INTEGER)");
    run(&mut e, "INSERT INTO d SELECT value, value FROM generate_series(0, 999)");
    run(&mut e, "SET datafusion.explain.show_statistics = true");
    // `day` is filtered but not returned: its bounds (0..=999) still make
    // the estimate about a tenth of the rows, as for a returned column.
    for sql in [
        "SELECT x FROM d WHERE day >= 100 AND day < 200",
        "SELECT x, day FROM d WHERE day >= 100 AND day < 200",
    ] {
        let p = plan(&mut e, sql);
        let scan = p.lines().find(|l| l.contains("LlkvScanExec")).unwrap_or_default();
        let rows = scan
            .split("Rows=Inexact(")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no row estimate: {p}"));
        assert!((50..=150).contains(&rows), "estimated {rows} rows: {scan}");
    }
}
