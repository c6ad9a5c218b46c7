//! Cancelling a running statement (the shell's Ctrl-C) on both routes: the
//! statement stops soon with a `Cancelled` error, a transaction it ran in is
//! aborted as after any failed statement, and the session goes on working.

use llkv::Database;
use llkv::native::NativeEngine;
use llkv::provider::DataFusionEngine;
use llkv::sql::{CancelFlag, Engine, ErrorKind, Output};
use std::time::{Duration, Instant};

const ROWS: usize = 20_000;

fn engine(route: &str, db: Database) -> Box<dyn Engine> {
    match route {
        "native" => Box::new(NativeEngine::new(db)),
        _ => Box::new(DataFusionEngine::new(db).expect("DataFusion engine starts")),
    }
}

/// A query that runs for minutes on `route` (quadratic or cubic work, little memory).
fn long_query(route: &str) -> &'static str {
    match route {
        // A correlated subquery per row: the native route runs it ROWS times.
        "native" => "SELECT count(*) FROM t a WHERE (SELECT count(*) FROM t b WHERE b.x < a.x) < 0",
        // A three-way cross join under a filter.
        _ => "SELECT count(*) FROM t a, t b, t c WHERE a.x + b.x + c.x = -1",
    }
}

fn count(e: &mut Box<dyn Engine>) -> String {
    let out = e.execute("SELECT count(*) FROM t").expect("count runs");
    match &out[0] {
        Output::Rows { batches, .. } => {
            arrow::util::pretty::pretty_format_columns("c", batches[0].columns())
                .map(|t| t.to_string())
                .unwrap_or_default()
        }
        other => panic!("rows expected, got {other:?}"),
    }
}

#[test]
fn a_cancelled_statement_stops_and_the_session_goes_on() {
    for route in ["native", "datafusion"] {
        let db = Database::in_memory();
        let mut e = engine(route, db);
        let values: Vec<String> = (0..ROWS).map(|i| format!("({i})")).collect();
        e.execute(&format!("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES {}", values.join(",")))
            .expect("setup");
        let before = count(&mut e);
        let flag = CancelFlag::new();
        e.set_cancel_flag(flag.clone());

        for explicit in [false, true] {
            if explicit {
                e.execute("BEGIN; INSERT INTO t VALUES (-5)").expect("begin");
            }
            let f = flag.clone();
            let canceller = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                f.cancel();
            });
            let start = Instant::now();
            let err = e.execute(long_query(route)).expect_err("the query is cancelled");
            let took = start.elapsed();
            canceller.join().unwrap();
            assert_eq!(err.kind, ErrorKind::Cancelled, "[{route}] {err}");
            assert!(took < Duration::from_secs(20), "[{route}] cancelling took {took:?}");
            flag.reset();
            if explicit {
                // Like any failed statement, the cancel aborts the transaction.
                assert!(e.execute("SELECT 1").is_err(), "[{route}] aborted transaction");
                e.execute("ROLLBACK").expect("rollback");
            }
            assert_eq!(count(&mut e), before, "[{route}] the session works after a cancel");
        }
    }
}

#[test]
fn a_cancelled_dml_statement_changes_nothing() {
    for route in ["native", "datafusion"] {
        let mut e = engine(route, Database::in_memory());
        let values: Vec<String> = (0..ROWS).map(|i| format!("({i})")).collect();
        e.execute(&format!("CREATE TABLE t(x INTEGER); INSERT INTO t VALUES {}", values.join(",")))
            .expect("setup");
        let before = count(&mut e);
        let flag = CancelFlag::new();
        e.set_cancel_flag(flag.clone());
        // The WHERE clause of each statement runs the long query's work.
        let filter = match route {
            "native" => "(SELECT count(*) FROM t b WHERE b.x < t.x) < 0",
            _ => "x IN (SELECT a.x FROM t a, t b, t c WHERE a.x + b.x + c.x = -1)",
        };
        for sql in [
            format!("INSERT INTO t SELECT x FROM t WHERE {filter}"),
            format!("UPDATE t SET x = -x WHERE {filter}"),
            format!("DELETE FROM t WHERE {filter}"),
        ] {
            let f = flag.clone();
            let canceller = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                f.cancel();
            });
            let start = Instant::now();
            let err = e.execute(&sql).expect_err("the statement is cancelled");
            let took = start.elapsed();
            canceller.join().unwrap();
            assert_eq!(err.kind, ErrorKind::Cancelled, "[{route}] {sql}: {err}");
            assert!(took < Duration::from_secs(20), "[{route}] {sql}: cancelling took {took:?}");
            flag.reset();
            assert_eq!(count(&mut e), before, "[{route}] {sql} changed nothing");
        }
    }
}
