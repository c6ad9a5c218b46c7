//! Crash loop: a child process commits transactions and reports each commit;
//! it is killed with SIGKILL at a random moment. After every reopen, each
//! transaction the child reported is present in full, and nothing else but
//! (at most) the one commit in flight when it died.
//!
//! `LLKV_CRASH_ITERATIONS` sets the number of kills (default 50).

use arrow::array::{AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use llkv_mvcc::Database;
use llkv_store::{ColumnMeta, ScanRequest, TableMeta};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "LLKV_CRASH_CHILD_DB";
const ROWS_PER_TXN: i64 = 3;
/// Prefix of the child's "this sequence number committed" lines.
const REPORT_TAG: &str = "committed ";

/// The child: commits transactions of `ROWS_PER_TXN` rows tagged with a
/// sequence number, printing each number once its commit returned.
fn child(path: &str) {
    let db = Database::open(path).expect("child opens the database");
    let mut next = {
        let txn = db.begin();
        match txn.table("log").unwrap() {
            Some(t) => contents(&txn, &t).keys().max().map_or(0, |m| m + 1),
            None => {
                let t = txn
                    .create_table(TableMeta::new(
                        "log",
                        vec![
                            ColumnMeta::new("seq", DataType::Int64, false),
                            ColumnMeta::new("part", DataType::Int64, false),
                        ],
                    ))
                    .unwrap();
                let _ = t;
                txn.commit().unwrap();
                0
            }
        }
    };
    let mut out = std::io::stdout();
    loop {
        let txn = db.begin();
        let t = txn.table("log").unwrap().unwrap();
        let seq = Int64Array::from(vec![next; ROWS_PER_TXN as usize]);
        let part = Int64Array::from_iter_values(0..ROWS_PER_TXN);
        let batch =
            RecordBatch::try_new(t.meta.schema(), vec![Arc::new(seq), Arc::new(part)]).unwrap();
        txn.insert(&t, &batch).unwrap();
        txn.commit().unwrap();
        // Tagged and on a line of its own: libtest prints `test <name> ... `
        // without a newline before the test's output.
        writeln!(out, "\n{REPORT_TAG}{next}").unwrap();
        out.flush().unwrap();
        next += 1;
    }
}

fn contents(txn: &llkv_mvcc::Transaction, t: &llkv_mvcc::TableHandle) -> BTreeMap<i64, i64> {
    let mut m = BTreeMap::new();
    for b in txn.scan(t, &ScanRequest::all()).unwrap() {
        for v in b.column(0).as_primitive::<Int64Type>().values().iter() {
            *m.entry(*v).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn killed_children_never_lose_a_reported_commit_nor_show_a_partial_one() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        child(&path);
        return;
    }
    let iterations: usize =
        std::env::var("LLKV_CRASH_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.llkv");
    let exe = std::env::current_exe().unwrap();
    let mut reported: i64 = -1;
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..iterations {
        let mut proc = Command::new(&exe)
            .args([
                "--exact",
                "killed_children_never_lose_a_reported_commit_nor_show_a_partial_one",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = proc.stdout.take().unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let lifetime = Duration::from_millis(30 + rng % 120);
        let reader = std::thread::spawn(move || {
            let mut last = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(n) =
                    line.split(REPORT_TAG).nth(1).and_then(|s| s.trim().parse::<i64>().ok())
                {
                    last = Some(n);
                }
            }
            last
        });
        let t0 = Instant::now();
        while t0.elapsed() < lifetime {
            std::thread::sleep(Duration::from_millis(5));
        }
        proc.kill().unwrap(); // SIGKILL on Unix
        proc.wait().unwrap();
        if let Some(n) = reader.join().unwrap() {
            reported = reported.max(n);
        }
        let db =
            Database::open(&path).unwrap_or_else(|e| panic!("round {round}: reopen failed: {e}"));
        let txn = db.begin();
        let Some(t) = txn.table("log").unwrap() else {
            assert_eq!(reported, -1, "round {round}: the table vanished");
            continue;
        };
        let m = contents(&txn, &t);
        for seq in 0..=reported {
            assert_eq!(
                m.get(&seq),
                Some(&ROWS_PER_TXN),
                "round {round}: reported commit {seq} is missing or partial"
            );
        }
        let max = m.keys().max().copied().unwrap_or(-1);
        assert!(max <= reported + 1, "round {round}: {max} present but only {reported} reported");
        assert!(
            m.values().all(|&c| c == ROWS_PER_TXN),
            "round {round}: a partial transaction is visible"
        );
        assert_eq!(m.len() as i64, max + 1, "round {round}: a gap in the committed sequence");
        reported = max;
    }
    assert!(reported > 0, "the child never committed anything");
}
