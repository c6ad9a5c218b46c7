//! Isolation anomalies in the manner of the Hermitage tests, on both SQL routes.
//!
//! Each test opens two or three sessions (engines) on one database and
//! interleaves their statements. Under snapshot isolation every anomaly here is
//! prevented except G2-item (write skew), which the last test shows happening.

use arrow::util::display::{ArrayFormatter, FormatOptions};
use llkv::Database;
use llkv::native::NativeEngine;
use llkv::provider::DataFusionEngine;
use llkv::sql::{Engine, ErrorKind, Output, SqlResult};

type Make = fn(Database) -> Box<dyn Engine>;

fn native(db: Database) -> Box<dyn Engine> {
    Box::new(NativeEngine::new(db))
}

fn datafusion(db: Database) -> Box<dyn Engine> {
    Box::new(DataFusionEngine::new(db).expect("DataFusion engine starts"))
}

const ROUTES: [(&str, Make); 2] = [("native", native), ("datafusion", datafusion)];

/// A database holding `test(id, value)` = (1, 10), (2, 20), and `n` sessions on it.
fn setup(make: Make, n: usize) -> Vec<Box<dyn Engine>> {
    let db = Database::in_memory();
    let mut s: Vec<Box<dyn Engine>> = (0..n).map(|_| make(db.clone())).collect();
    ok(&mut s[0], "CREATE TABLE test (id INTEGER PRIMARY KEY, value INTEGER)");
    ok(&mut s[0], "INSERT INTO test VALUES (1, 10), (2, 20)");
    s
}

fn ok(e: &mut Box<dyn Engine>, sql: &str) {
    if let Err(err) = e.execute(sql) {
        panic!("[{}] {sql}: {err}", e.route());
    }
}

fn conflict(e: &mut Box<dyn Engine>, sql: &str) {
    match e.execute(sql) {
        Err(err) => assert!(
            matches!(err.kind, ErrorKind::Conflict | ErrorKind::Transaction),
            "[{}] {sql}: expected a serialization failure, got {err}",
            e.route()
        ),
        Ok(_) => panic!("[{}] {sql}: expected a serialization failure, it succeeded", e.route()),
    }
}

/// The rows of a query as `id:value` strings, sorted.
fn rows(e: &mut Box<dyn Engine>, sql: &str) -> Vec<String> {
    let out: SqlResult<Vec<Output>> = e.execute(sql);
    let out = out.unwrap_or_else(|err| panic!("[{}] {sql}: {err}", e.route()));
    let mut rows = Vec::new();
    for o in out {
        if let Output::Rows { batches, .. } = o {
            for b in batches {
                let opts = FormatOptions::default().with_null("NULL");
                let fmts: Vec<ArrayFormatter> = b
                    .columns()
                    .iter()
                    .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
                    .collect();
                for r in 0..b.num_rows() {
                    rows.push(
                        fmts.iter().map(|f| f.value(r).to_string()).collect::<Vec<_>>().join(":"),
                    );
                }
            }
        }
    }
    rows.sort();
    rows
}

fn each_route(test: impl Fn(Make)) {
    for (_, make) in ROUTES {
        test(make);
    }
}

#[test]
fn g0_dirty_write_is_prevented() {
    each_route(|make| {
        let mut s = setup(make, 3);
        ok(&mut s[0], "BEGIN");
        ok(&mut s[1], "BEGIN");
        ok(&mut s[0], "UPDATE test SET value = 11 WHERE id = 1");
        conflict(&mut s[1], "UPDATE test SET value = 12 WHERE id = 1");
        ok(&mut s[0], "UPDATE test SET value = 21 WHERE id = 2");
        ok(&mut s[0], "COMMIT");
        let _ = s[1].execute("ROLLBACK");
        assert_eq!(rows(&mut s[2], "SELECT id, value FROM test"), ["1:11", "2:21"]);
    });
}

#[test]
fn g1a_aborted_read_is_prevented() {
    each_route(|make| {
        let mut s = setup(make, 2);
        ok(&mut s[0], "BEGIN");
        ok(&mut s[1], "BEGIN");
        ok(&mut s[0], "UPDATE test SET value = 101 WHERE id = 1");
        assert_eq!(rows(&mut s[1], "SELECT id, value FROM test"), ["1:10", "2:20"]);
        ok(&mut s[0], "ROLLBACK");
        assert_eq!(rows(&mut s[1], "SELECT id, value FROM test"), ["1:10", "2:20"]);
        ok(&mut s[1], "COMMIT");
    });
}

#[test]
fn g1b_intermediate_read_is_prevented() {
    each_route(|make| {
        let mut s = setup(make, 2);
        ok(&mut s[0], "BEGIN");
        ok(&mut s[1], "BEGIN");
        ok(&mut s[0], "UPDATE test SET value = 101 WHERE id = 1");
        assert_eq!(rows(&mut s[1], "SELECT id, value FROM test"), ["1:10", "2:20"]);
        ok(&mut s[0], "UPDATE test SET value = 11 WHERE id = 1");
        ok(&mut s[0], "COMMIT");
        assert_eq!(rows(&mut s[1], "SELECT id, value FROM test"), ["1:10", "2:20"]);
        ok(&mut s[1], "COMMIT");
    });
}

#[test]
fn g1c_circular_information_flow_is_prevented() {
    each_route(|make| {
        let mut s = setup(make, 2);
        ok(&mut s[0], "BEGIN");
        ok(&mut s[1], "BEGIN");
        ok(&mut s[0], "UPDATE test SET value = 11 WHERE id = 1");
        ok(&mut s[1], "UPDATE test SET value = 22 WHERE id = 2");
        assert_eq!(rows(&mut s[0], "SELECT id, value FROM test WHERE id = 2"), ["2:20"]);
        assert_eq!(rows(&mut s[1], "SELECT id, value FROM test WHERE id = 1"), ["1:10"]);
        ok(&mut s[0], "COMMIT");
        ok(&mut s[1], "COMMIT");
    });
}

#[test]
fn otv_observed_transaction_vanishes_is_prevented() {
    each_route(|make| {
        let mut s = setup(make, 3);
        ok(&mut s[0], "BEGIN");
        ok(&mut s[1], "BEGIN");
        ok(&mut s[2], "BEGIN");
        ok(&mut s[0], "UPDATE test SET value = 11 WHERE id = 1");
        ok(&mut s[0], "UPDATE test SET value = 19 WHERE id = 2");
        conflict(&mut s[1], "UPDATE test SET value = 12 WHERE id = 1");
        ok(&mut s[0], "COMMIT");
        assert_eq!(rows(&mut s[2], "SELECT id, value FROM test WHERE id = 1"), ["1:10"]);
        let _ = s[1].execute("ROLLBACK");
        assert_eq!(rows(&mut s[2], "SELECT id, value FROM test WHERE id = 2"), ["2:20"]);
        ok(&mut s[2], "COMMIT");
    });
}

#[test]
fn pmp_predicate_many_preceders_is_prevented() {
    each_route(|make| {
        let mut s = setup(make, 2);
        ok(&mut s[0], "BEGIN");
        ok(&mut s[1], "BEGIN");
        assert!(rows(&mut s[0], "SELECT id, value FROM test WHERE value = 30").is_empty());
        ok(&mut s[1], "INSERT INTO test VALUES (3, 30)");
        ok(&mut s[1], "COMMIT");
        assert!(rows(&mut s[0], "SELECT id, value FROM test WHERE value % 3 = 0").is_empty());
        ok(&mut s[0], "COMMIT");
    });
}

#[test]
fn p4_lost_update_is_prevented() {
    each_route(|make| {
        let mut s = setup(make, 3);
        ok(&mut s[0], "BEGIN");
        ok(&mut s[1], "BEGIN");
        assert_eq!(rows(&mut s[0], "SELECT id, value FROM test WHERE id = 1"), ["1:10"]);
        assert_eq!(rows(&mut s[1], "SELECT id, value FROM test WHERE id = 1"), ["1:10"]);
        ok(&mut s[0], "UPDATE test SET value = 11 WHERE id = 1");
        conflict(&mut s[1], "UPDATE test SET value = 11 WHERE id = 1");
        ok(&mut s[0], "COMMIT");
        let _ = s[1].execute("ROLLBACK");
        assert_eq!(rows(&mut s[2], "SELECT id, value FROM test WHERE id = 1"), ["1:11"]);
    });
}

#[test]
fn p4_lost_update_is_prevented_when_the_first_writer_already_committed() {
    each_route(|make| {
        let mut s = setup(make, 2);
        ok(&mut s[0], "BEGIN");
        ok(&mut s[1], "BEGIN");
        assert_eq!(rows(&mut s[1], "SELECT id, value FROM test WHERE id = 1"), ["1:10"]);
        ok(&mut s[0], "UPDATE test SET value = value + 1 WHERE id = 1");
        ok(&mut s[0], "COMMIT");
        conflict(&mut s[1], "UPDATE test SET value = value + 1 WHERE id = 1");
        let _ = s[1].execute("ROLLBACK");
        assert_eq!(rows(&mut s[0], "SELECT id, value FROM test WHERE id = 1"), ["1:11"]);
    });
}

#[test]
fn g_single_read_skew_is_prevented() {
    each_route(|make| {
        let mut s = setup(make, 2);
        ok(&mut s[0], "BEGIN");
        ok(&mut s[1], "BEGIN");
        assert_eq!(rows(&mut s[0], "SELECT id, value FROM test WHERE id = 1"), ["1:10"]);
        assert_eq!(rows(&mut s[1], "SELECT id, value FROM test"), ["1:10", "2:20"]);
        ok(&mut s[1], "UPDATE test SET value = 12 WHERE id = 1");
        ok(&mut s[1], "UPDATE test SET value = 18 WHERE id = 2");
        ok(&mut s[1], "COMMIT");
        assert_eq!(rows(&mut s[0], "SELECT id, value FROM test WHERE id = 2"), ["2:20"]);
        ok(&mut s[0], "COMMIT");
    });
}

#[test]
fn g2_item_write_skew_is_allowed_under_snapshot_isolation() {
    each_route(|make| {
        let mut s = setup(make, 3);
        ok(&mut s[0], "BEGIN");
        ok(&mut s[1], "BEGIN");
        assert_eq!(
            rows(&mut s[0], "SELECT id, value FROM test WHERE id IN (1, 2)"),
            ["1:10", "2:20"]
        );
        assert_eq!(
            rows(&mut s[1], "SELECT id, value FROM test WHERE id IN (1, 2)"),
            ["1:10", "2:20"]
        );
        ok(&mut s[0], "UPDATE test SET value = 11 WHERE id = 1");
        ok(&mut s[1], "UPDATE test SET value = 21 WHERE id = 2");
        ok(&mut s[0], "COMMIT");
        ok(&mut s[1], "COMMIT");
        // Both committed: each wrote a row the other had read (write skew).
        assert_eq!(rows(&mut s[2], "SELECT id, value FROM test"), ["1:11", "2:21"]);
    });
}

#[test]
fn statements_in_a_failed_transaction_are_refused_until_rollback() {
    each_route(|make| {
        let mut s = setup(make, 1);
        ok(&mut s[0], "BEGIN");
        assert!(
            s[0].execute("INSERT INTO test VALUES (1, 99)").is_err(),
            "duplicate key must fail"
        );
        let err = s[0].execute("SELECT id FROM test").expect_err("the transaction is aborted");
        assert_eq!(err.kind, ErrorKind::Transaction, "{err}");
        ok(&mut s[0], "ROLLBACK");
        assert_eq!(rows(&mut s[0], "SELECT id, value FROM test"), ["1:10", "2:20"]);
    });
}
