//! `LlkvScanExec`'s partition streams polled directly: they read segments on
//! the polling thread (no runtime needed), cover every row once across the
//! partitions (the transaction's own rows included), cut batches to the
//! session's `batch_size`, stop at a pushed limit and let the snapshot go
//! when dropped.

use datafusion::arrow::array::{Int64Array, RecordBatch};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use futures::StreamExt;
use futures::executor::block_on;
use llkv_mvcc::Database;
use llkv_provider::{LlkvCatalog, LlkvScanExec};
use std::sync::Arc;

/// A context on a new in-memory database with `config`, and a runtime to
/// run statements in.
struct Db {
    rt: tokio::runtime::Runtime,
    catalog: Arc<LlkvCatalog>,
    ctx: SessionContext,
}

impl Db {
    fn new(config: SessionConfig) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("runtime starts");
        // Chunks of 1024 rows: the tables here (about 1250 rows) are then
        // not small enough for a single partition.
        let options = llkv_store::StoreOptions {
            chunk_rows: 1024,
            durability: llkv_store::Durability::Buffered,
        };
        let pager = Arc::new(llkv_store::pager::MemoryPager::new());
        let store = llkv_store::Store::with_pager(pager, options).expect("store");
        let catalog = LlkvCatalog::new(Database::from_store(store));
        let ctx = catalog.session_context_with_config(config);
        Self { rt, catalog, ctx }
    }

    /// Runs `sql` and returns its rows.
    fn query(&self, sql: &str) -> Vec<RecordBatch> {
        self.rt
            .block_on(async { self.ctx.sql(sql).await?.collect().await })
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Inserts `per` rows `from..from + per` (column x) as one segment.
    fn insert_segment(&self, from: i64, per: i64) {
        let values: Vec<String> = (from..from + per).map(|v| format!("({v})")).collect();
        self.query(&format!("INSERT INTO t VALUES {}", values.join(", ")));
    }

    /// A table t (x BIGINT) of rows 0, 1, 2, … inserted by statements of
    /// `sizes` rows each (in decreasing sizes they stay separate segments:
    /// the store merges a small trailing segment into a predecessor no larger).
    fn with_table(config: SessionConfig, sizes: &[i64]) -> Self {
        let db = Self::new(config);
        db.query("CREATE TABLE t (x BIGINT)");
        let mut from = 0;
        for &n in sizes {
            db.insert_segment(from, n);
            from += n;
        }
        db
    }

    /// The scan node of `sql`'s physical plan, planned without a runtime.
    fn scan_of(&self, sql: &str) -> (Arc<dyn ExecutionPlan>, Arc<TaskContext>) {
        let plan = block_on(async { self.ctx.sql(sql).await?.create_physical_plan().await })
            .unwrap_or_else(|err| panic!("{sql}: {err}"));
        let mut node = plan;
        loop {
            if node.downcast_ref::<LlkvScanExec>().is_some() {
                return (node, self.ctx.task_ctx());
            }
            let child = node.children().into_iter().next().cloned();
            match child {
                Some(c) => node = c,
                None => panic!("{sql}: no LlkvScanExec in the plan"),
            }
        }
    }
}

/// Every batch of every partition of `scan`, polled without a runtime.
fn drain(scan: &Arc<dyn ExecutionPlan>, task: &Arc<TaskContext>) -> Vec<Vec<RecordBatch>> {
    let parts = scan.properties().output_partitioning().partition_count();
    (0..parts)
        .map(|p| {
            let stream = scan.execute(p, Arc::clone(task)).unwrap_or_else(|e| panic!("{e}"));
            block_on(stream.map(|b| b.unwrap_or_else(|e| panic!("{e}"))).collect::<Vec<_>>())
        })
        .collect()
}

fn values(batches: &[RecordBatch]) -> Vec<i64> {
    let mut out = Vec::new();
    for b in batches {
        let a = b.column(0).as_any().downcast_ref::<Int64Array>().expect("x is BIGINT");
        out.extend(a.iter().flatten());
    }
    out
}

#[test]
fn partitions_cover_every_row_once_including_the_transactions_own_rows() {
    let config = SessionConfig::new().with_target_partitions(3).with_batch_size(100);
    let db = Db::with_table(config, &[800, 300, 100, 40, 10]);
    db.catalog.session().begin().unwrap_or_else(|e| panic!("{e}"));
    db.query("INSERT INTO t VALUES (-1), (-2), (-3)");
    db.query("DELETE FROM t WHERE x = 7");
    let (scan, task) = db.scan_of("SELECT x FROM t");
    let parts = drain(&scan, &task);
    assert_eq!(parts.len(), 3, "{scan:?}");
    // The transaction's own rows come with the last partition.
    let last = values(&parts[2]);
    assert!(last.contains(&-1) && last.contains(&-3), "{last:?}");
    let mut all: Vec<i64> = parts.iter().flat_map(|p| values(p)).collect();
    all.sort_unstable();
    let expected: Vec<i64> = (-3..0).chain((0..1250).filter(|&v| v != 7)).collect();
    assert_eq!(all, expected);
    for b in parts.iter().flatten() {
        assert!(b.num_rows() > 0 && b.num_rows() <= 100, "batch of {} rows", b.num_rows());
        assert_eq!(b.schema(), scan.schema());
    }
    db.catalog.session().rollback().unwrap_or_else(|e| panic!("{e}"));
    let (scan, task) = db.scan_of("SELECT x FROM t");
    let after: usize = drain(&scan, &task).iter().map(|p| values(p).len()).sum();
    assert_eq!(after, 1250, "the rolled-back rows are gone");
}

#[test]
fn a_pushed_limit_stops_the_stream() {
    let db = Db::with_table(SessionConfig::new().with_batch_size(64), &[100, 100, 100, 100]);
    let (scan, task) = db.scan_of("SELECT x FROM t LIMIT 130");
    let parts = drain(&scan, &task);
    assert_eq!(parts.len(), 1);
    let mut got = values(&parts[0]);
    got.sort_unstable();
    got.dedup();
    assert_eq!(got.len(), 130, "{got:?}");
    // Segments are read in order: all of the first (rows 0..100), then 30
    // of the second (100..200).
    assert!(got[..100].iter().copied().eq(0..100), "{got:?}");
    assert!(got[100..].iter().all(|v| (100..200).contains(v)), "{got:?}");
    assert!(parts[0].iter().all(|b| b.num_rows() <= 64));
}

#[test]
fn dropping_a_partly_read_stream_lets_the_snapshot_go() {
    let config = SessionConfig::new().with_target_partitions(1).with_batch_size(10);
    let db = Db::with_table(config, &[100, 100, 100]);
    let database = db.catalog.session().database().clone();
    let (scan, task) = db.scan_of("SELECT x FROM t");
    assert!(database.oldest_active_snapshot().is_some(), "the plan holds the snapshot");
    let mut stream = scan.execute(0, Arc::clone(&task)).unwrap_or_else(|e| panic!("{e}"));
    let first = block_on(stream.next()).map(|b| b.map(|b| b.num_rows()));
    assert!(matches!(first, Some(Ok(10))), "{first:?}");
    drop(stream);
    drop(scan);
    assert_eq!(
        database.oldest_active_snapshot(),
        None,
        "nothing holds the snapshot after the drop"
    );
    let (scan, task) = db.scan_of("SELECT x FROM t");
    let total: i64 = drain(&scan, &task).iter().flat_map(|p| values(p)).sum();
    assert_eq!(total, (0..300).sum::<i64>());
}

#[test]
fn a_filtered_scan_returns_only_matching_rows() {
    let db = Db::with_table(SessionConfig::new().with_target_partitions(2), &[200, 100, 100]);
    let (scan, task) = db.scan_of("SELECT x FROM t WHERE x BETWEEN 150 AND 160");
    let mut got: Vec<i64> = drain(&scan, &task).iter().flat_map(|p| values(p)).collect();
    got.sort_unstable();
    assert_eq!(got, (150..=160).collect::<Vec<_>>());
}

#[test]
fn kept_rows_of_a_selective_filter_are_gathered_into_full_batches() {
    let config = SessionConfig::new().with_target_partitions(1).with_batch_size(100);
    let db = Db::with_table(config, &[800, 300, 100, 40, 10]);
    db.query("DELETE FROM t WHERE x = 20 OR x = 1000");
    // Every 10th row: 10 of each 100-row slice match.
    let list: Vec<String> = (0..1250).step_by(10).map(|v| v.to_string()).collect();
    let sql = format!("SELECT x FROM t WHERE x IN ({})", list.join(", "));
    let (scan, task) = db.scan_of(&sql);
    let parts = drain(&scan, &task);
    let got = values(&parts[0]);
    let expected: Vec<i64> = (0..1250).step_by(10).filter(|&v| v != 20 && v != 1000).collect();
    assert_eq!(got, expected, "in row order, deleted rows left out");
    let sizes: Vec<usize> = parts[0].iter().map(RecordBatch::num_rows).collect();
    let (last, full) = sizes.split_last().expect("some batches");
    assert!(full.iter().all(|&n| n == 100) && *last <= 100, "batch sizes {sizes:?}");
    // Under a limit the stream stops with exactly the limit's rows.
    let (scan, task) = db.scan_of(&format!("{sql} LIMIT 15"));
    let parts = drain(&scan, &task);
    assert_eq!(values(&parts[0]), expected[..15].to_vec());
}

#[test]
fn slices_whose_rows_are_all_kept_pass_whole_and_are_not_merged_with_a_short_tail() {
    let config = SessionConfig::new().with_target_partitions(1).with_batch_size(100);
    // Segments of 230 and 220 rows: slices of 100, 100 and a short 30, then
    // 100, 100, 20. Merging the 30 with the next slices would copy every row
    // of the second segment to make batches of 100.
    let db = Db::with_table(config, &[230, 220]);
    let (scan, task) = db.scan_of("SELECT x FROM t");
    let parts = drain(&scan, &task);
    assert_eq!(values(&parts[0]), (0..450).collect::<Vec<_>>());
    let sizes: Vec<usize> = parts[0].iter().map(RecordBatch::num_rows).collect();
    assert_eq!(sizes, [100, 100, 30, 100, 100, 20]);
}
