//! Bank invariant: writers move money between accounts in random transfers,
//! with conflicts and retries; readers sum all balances. Every snapshot sees
//! the same total, and so does a reopen.

use arrow::array::{AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use llkv_mvcc::{Database, Error, TableHandle, Transaction, row_ids_of};
use llkv_store::{CmpOp, ColumnMeta, Predicate, ScanRequest, TableMeta};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const ACCOUNTS: i64 = 20;
const START: i64 = 1_000;

fn batch(t: &TableHandle, id: i64, bal: i64) -> RecordBatch {
    RecordBatch::try_new(
        t.meta.schema(),
        vec![Arc::new(Int64Array::from(vec![id])), Arc::new(Int64Array::from(vec![bal]))],
    )
    .unwrap()
}

fn total(txn: &Transaction) -> i64 {
    let t = txn.table("bank").unwrap().unwrap();
    let req = ScanRequest { projection: Some(vec![1]), ..Default::default() };
    txn.scan(&t, &req)
        .unwrap()
        .iter()
        .map(|b| b.column(0).as_primitive::<Int64Type>().values().iter().sum::<i64>())
        .sum()
}

/// Reads one account: (row id, balance).
fn account(txn: &Transaction, t: &TableHandle, id: i64) -> llkv_mvcc::Result<(u64, i64)> {
    let req = ScanRequest {
        projection: Some(vec![1]),
        predicates: vec![Predicate::Compare {
            column: 0,
            op: CmpOp::Eq,
            value: Arc::new(Int64Array::from(vec![id])),
        }],
        with_row_ids: true,
        ..Default::default()
    };
    let batches = txn.scan(t, &req)?;
    let rid = row_ids_of(&batches)[0];
    let bal = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .unwrap()
        .column(0)
        .as_primitive::<Int64Type>()
        .value(0);
    Ok((rid, bal))
}

fn transfer(db: &Database, from: i64, to: i64, amount: i64) -> llkv_mvcc::Result<()> {
    let txn = db.begin();
    let t = txn.table("bank")?.unwrap();
    let (rf, bf) = account(&txn, &t, from)?;
    let (rt, bt) = account(&txn, &t, to)?;
    txn.update(&t, &[rf], &batch(&t, from, bf - amount))?;
    txn.update(&t, &[rt], &batch(&t, to, bt + amount))?;
    txn.commit()?;
    Ok(())
}

fn run_bank(db: &Database, writers: usize, readers: usize, duration: Duration) -> (u64, u64, u64) {
    let stop = AtomicBool::new(false);
    let (commits, conflicts, reads) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    std::thread::scope(|s| {
        for w in 0..writers {
            let (stop, commits, conflicts) = (&stop, &commits, &conflicts);
            s.spawn(move || {
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (w as u64 + 1);
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let from = (x % ACCOUNTS as u64) as i64;
                    let to = ((x >> 20) % ACCOUNTS as u64) as i64;
                    if from == to {
                        continue;
                    }
                    match transfer(db, from, to, (x >> 40) as i64 % 50) {
                        Ok(()) => commits.fetch_add(1, Ordering::Relaxed),
                        Err(Error::Serialization { .. }) => {
                            conflicts.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(e) => panic!("transfer failed: {e}"),
                    };
                }
            });
        }
        for _ in 0..readers {
            let (stop, reads) = (&stop, &reads);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(
                        total(&db.begin()),
                        ACCOUNTS * START,
                        "a snapshot saw money appear or vanish"
                    );
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let t0 = Instant::now();
        while t0.elapsed() < duration {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::Relaxed);
    });
    (commits.into_inner(), conflicts.into_inner(), reads.into_inner())
}

#[test]
fn every_snapshot_and_a_reopen_see_the_same_total() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.llkv");
    let options = llkv_store::StoreOptions {
        durability: llkv_store::Durability::Buffered,
        ..Default::default()
    };
    {
        let db = Database::open_with(&path, options).unwrap();
        let txn = db.begin();
        let mut meta = TableMeta::new(
            "bank",
            vec![
                ColumnMeta::new("id", DataType::Int64, false),
                ColumnMeta::new("bal", DataType::Int64, false),
            ],
        );
        meta.primary_key = vec![0];
        let t = txn.create_table(meta).unwrap();
        for id in 0..ACCOUNTS {
            txn.insert(&t, &batch(&t, id, START)).unwrap();
        }
        txn.commit().unwrap();
        let (commits, conflicts, reads) = run_bank(&db, 4, 2, Duration::from_secs(2));
        eprintln!("bank: {commits} commits, {conflicts} conflicts, {reads} consistent reads");
        assert!(commits > 20, "too few transfers committed: {commits}");
        assert!(reads > 5);
    }
    let db = Database::open_with(&path, options).unwrap();
    assert_eq!(total(&db.begin()), ACCOUNTS * START);
}
