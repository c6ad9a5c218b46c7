//! SUMs of DECIMAL columns (with COUNT(*)) answered from the stored codes by
//! `LlkvSumExec`: the plans that get it, and answers equal to exact sums
//! of the rows the scan keeps, through filters, deletes, updates and a
//! transaction's own rows, over several partitions.

mod common;
use common::*;
use llkv_provider::DataFusionEngine;
use std::collections::BTreeMap;

/// `m(k, price DECIMAL(15,2), tax DECIMAL(15,2))` of `n` rows in 256-row
/// chunks, and a model of it: k → (price, tax) as unscaled integers.
fn table(n: i64) -> (DataFusionEngine, tempfile::TempDir, BTreeMap<i64, (i128, Option<i128>)>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = llkv_store::StoreOptions { chunk_rows: 256, ..Default::default() };
    let db = llkv_mvcc::Database::open_with(dir.path().join("db"), opts).expect("open");
    let mut e = DataFusionEngine::new(db).expect("engine");
    run(&mut e, "CREATE TABLE m (k BIGINT, price DECIMAL(15,2), tax DECIMAL(15,2))");
    let mut model = BTreeMap::new();
    let mut values = Vec::new();
    for k in 0..n {
        let price = 90_000 + 300 * i128::from(k) + i128::from(k % 100);
        let tax = (k % 5 != 0).then_some(i128::from(k % 9));
        model.insert(k, (price, tax));
        let tax_text = tax.map_or("NULL".to_string(), |t| format!("0.{t:02}"));
        values.push(format!("({k}, {}.{:02}, {tax_text})", price / 100, price % 100));
    }
    for part in values.chunks(1000) {
        run(&mut e, &format!("INSERT INTO m VALUES {}", part.join(", ")));
    }
    (e, dir, model)
}

/// A DECIMAL(_, 2) as DataFusion prints it.
fn decimal(v: Option<i128>) -> String {
    match v {
        None => String::new(),
        Some(v) => {
            let sign = if v < 0 { "-" } else { "" };
            format!("{sign}{}.{:02}", v.abs() / 100, v.abs() % 100)
        }
    }
}

/// `sum(price)|count(*)|sum(tax)` of the model's rows whose k passes `keep`.
fn expected(model: &BTreeMap<i64, (i128, Option<i128>)>, keep: impl Fn(i64) -> bool) -> String {
    let rows: Vec<_> = model.iter().filter(|(k, _)| keep(**k)).map(|(_, v)| *v).collect();
    let price = (!rows.is_empty()).then(|| rows.iter().map(|r| r.0).sum());
    let taxes: Vec<i128> = rows.iter().filter_map(|r| r.1).collect();
    let tax = (!taxes.is_empty()).then(|| taxes.iter().sum());
    format!("{}|{}|{}", decimal(price), rows.len(), decimal(tax))
}

const SUMS: &str = "SELECT sum(price), count(*), sum(tax) FROM m";

/// Whether `sql`'s plan reads the sums from the store.
fn pushed(e: &mut DataFusionEngine, sql: &str) -> bool {
    text(e, &format!("EXPLAIN {sql}")).contains("LlkvSumExec")
}

#[test]
fn sums_over_a_scan_are_read_from_stored_codes() {
    let (mut e, _dir, mut model) = table(3000);
    run(&mut e, "SET datafusion.execution.target_partitions = 3");
    let cases: [(String, fn(i64) -> bool); 4] = [
        (SUMS.to_string(), |_| true),
        (format!("{SUMS} WHERE k BETWEEN 700 AND 2100"), |k| (700..=2100).contains(&k)),
        (format!("{SUMS} WHERE k >= 2990"), |k| k >= 2990),
        (format!("{SUMS} WHERE k < 0"), |_| false),
    ];
    let check = |e: &mut DataFusionEngine, model: &BTreeMap<_, _>| {
        for (sql, keep) in &cases {
            assert!(pushed(e, sql), "{sql}: {}", text(e, &format!("EXPLAIN {sql}")));
            assert_eq!(rows(e, sql), [expected(model, keep)], "{sql}");
        }
    };
    check(&mut e, &model);
    // Deleted rows, and updated (patched) values.
    run(&mut e, "DELETE FROM m WHERE k % 7 = 0 OR k BETWEEN 1000 AND 1499");
    model.retain(|k, _| k % 7 != 0 && !(1000..1500).contains(k));
    run(&mut e, "UPDATE m SET price = price + 1000.50, tax = NULL WHERE k < 40");
    for (k, v) in model.range_mut(..40) {
        *v = (v.0 + 100_050, None);
        assert!(*k < 40);
    }
    check(&mut e, &model);
    // A transaction's own rows and deletes; then rolled back.
    run(&mut e, "BEGIN");
    run(&mut e, "INSERT INTO m VALUES (5000, 5.25, NULL), (5001, 7.75, 0.50)");
    run(&mut e, "DELETE FROM m WHERE k BETWEEN 2000 AND 2010");
    let mut inside = model.clone();
    inside.insert(5000, (525, None));
    inside.insert(5001, (775, Some(50)));
    inside.retain(|k, _| !(2000..=2010).contains(k));
    check(&mut e, &inside);
    run(&mut e, "ROLLBACK");
    check(&mut e, &model);
}

#[test]
fn other_aggregates_keep_the_scan() {
    let (mut e, _dir, model) = table(600);
    for sql in [
        "SELECT sum(price), max(price) FROM m",
        "SELECT sum(price) FROM m GROUP BY k % 3",
        "SELECT sum(price * 2) FROM m",
        "SELECT sum(k) FROM m",
        "SELECT sum(DISTINCT price) FROM m",
        "SELECT sum(price), count(tax) FROM m",
    ] {
        assert!(!pushed(&mut e, sql), "{sql}");
    }
    // A filter the scan does not apply exactly stays above it, and the
    // answer is still right.
    let sql = format!("{SUMS} WHERE k % 4 = 1");
    assert!(!pushed(&mut e, &sql));
    assert_eq!(rows(&mut e, &sql), [expected(&model, |k| k % 4 == 1)]);
}

#[test]
fn a_single_stage_aggregate_over_one_partition_is_answered_too() {
    // Fewer rows than a chunk: one partition, where DataFusion aggregates
    // in a single stage.
    let (mut e, _dir, model) = table(100);
    let plan = text(&mut e, &format!("EXPLAIN {SUMS}"));
    assert!(plan.contains("mode=Single") || !plan.contains("mode=Partial"), "{plan}");
    assert!(pushed(&mut e, SUMS), "{plan}");
    assert_eq!(rows(&mut e, SUMS), [expected(&model, |_| true)]);
    run(&mut e, "DELETE FROM m");
    assert_eq!(rows(&mut e, SUMS), ["|0|"]);
}
