//! The store against a BTreeMap model: random appends, updates (including
//! NULLs) and deletes, with commits, vacuums and reopens; full scans, pruned predicate
//! scans and the statistics must always agree with the model.

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Int64Type};
use llkv_store::{CmpOp, ColumnMeta, Predicate, ScanRequest, Store, StoreOptions, TableMeta};
use std::collections::BTreeMap;
use std::sync::Arc;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn value(&mut self) -> Option<i64> {
        (self.below(8) != 0).then(|| self.below(1000) as i64 - 500)
    }
}

/// What a predicate should match, evaluated on the model's value.
type Matcher = Box<dyn Fn(Option<i64>) -> bool>;

fn meta() -> TableMeta {
    TableMeta::new("t", vec![ColumnMeta::new("v", DataType::Int64, true)])
}

fn scan_map(store: &Store, req: &ScanRequest) -> BTreeMap<u64, Option<i64>> {
    let v = store.current();
    let t = v.table_by_name("t").unwrap();
    let mut out = BTreeMap::new();
    for b in store.scan(t, req).unwrap() {
        let vals = b.column(0).as_primitive::<Int64Type>();
        let ids = b.column(1).as_any().downcast_ref::<UInt64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.insert(ids.value(i), vals.is_valid(i).then(|| vals.value(i)));
        }
    }
    out
}

fn check(store: &Store, model: &BTreeMap<u64, Option<i64>>, rng: &mut Rng) {
    let all = ScanRequest { with_row_ids: true, ..Default::default() };
    assert_eq!(&scan_map(store, &all), model, "full scan differs from the model");
    let x = rng.below(1000) as i64 - 500;
    let val = |x: i64| -> ArrayRef { Arc::new(Int64Array::from(vec![x])) };
    let cases: Vec<(Predicate, Matcher)> = vec![
        (
            Predicate::Compare { column: 0, op: CmpOp::Eq, value: val(x) },
            Box::new(move |v| v == Some(x)),
        ),
        (
            Predicate::Compare { column: 0, op: CmpOp::Lt, value: val(x) },
            Box::new(move |v| v.is_some_and(|v| v < x)),
        ),
        (
            Predicate::Compare { column: 0, op: CmpOp::GtEq, value: val(x) },
            Box::new(move |v| v.is_some_and(|v| v >= x)),
        ),
        (
            Predicate::Between { column: 0, low: val(x), high: val(x + 50) },
            Box::new(move |v| v.is_some_and(|v| v >= x && v <= x + 50)),
        ),
        (Predicate::IsNull { column: 0 }, Box::new(|v| v.is_none())),
        (Predicate::IsNotNull { column: 0 }, Box::new(|v| v.is_some())),
    ];
    for (p, f) in cases {
        let want: BTreeMap<u64, Option<i64>> =
            model.iter().filter(|(_, v)| f(**v)).map(|(k, v)| (*k, *v)).collect();
        let req =
            ScanRequest { predicates: vec![p.clone()], with_row_ids: true, ..Default::default() };
        assert_eq!(scan_map(store, &req), want, "predicate {p:?}");
    }
    // Statistics: null counts exact, bounds hold for every value.
    let v = store.current();
    let t = v.table_by_name("t").unwrap();
    for seg in t.segments().unwrap() {
        let chunk = &seg.body().unwrap().columns[0];
        let ids: Vec<u64> = seg.row_ids().unwrap().values().to_vec();
        let live: Vec<u64> = ids.iter().copied().filter(|i| model.contains_key(i)).collect();
        if live.is_empty() {
            continue;
        }
        let got = store.read_rows(t, &live, &[0]).unwrap();
        let col = got.column(0).as_primitive::<Int64Type>();
        let min = chunk.stats.min.as_ref().map(|m| m.as_primitive::<Int64Type>().value(0));
        let max = chunk.stats.max.as_ref().map(|m| m.as_primitive::<Int64Type>().value(0));
        for i in 0..col.len() {
            if col.is_valid(i) {
                assert!(min.is_none_or(|m| m <= col.value(i)), "min bound violated");
                assert!(max.is_none_or(|m| m >= col.value(i)), "max bound violated");
            }
        }
        assert!(chunk.stats.null_count <= seg.row_count);
    }
}

fn run(seed: u64, path: Option<&std::path::Path>) {
    let opts = StoreOptions { chunk_rows: 64, ..StoreOptions::default() };
    let open = || match path {
        Some(p) => Store::open(p, opts).unwrap(),
        None => Store::with_pager(Arc::new(llkv_store::pager::MemoryPager::new()), opts).unwrap(),
    };
    let mut store = open();
    let mut rng = Rng(seed);
    let mut model: BTreeMap<u64, Option<i64>> = BTreeMap::new();
    let mut w = store.begin_write().unwrap();
    let id = w.create_table(meta()).unwrap();
    w.commit().unwrap();
    for round in 0..60 {
        let mut w = store.begin_write().unwrap();
        let mut pending = model.clone();
        for _ in 0..1 + rng.below(4) {
            match rng.below(4) {
                0 | 1 => {
                    let big = rng.below(4) == 0;
                    let n = 1 + rng.below(if big { 150 } else { 5 }) as usize;
                    let vals: Vec<Option<i64>> = (0..n).map(|_| rng.value()).collect();
                    let batch = RecordBatch::try_new(
                        meta().schema(),
                        vec![Arc::new(Int64Array::from(vals.clone()))],
                    )
                    .unwrap();
                    let first = w.append(id, &batch).unwrap();
                    for (i, v) in vals.into_iter().enumerate() {
                        pending.insert(first + i as u64, v);
                    }
                }
                2 if !pending.is_empty() => {
                    let keys: Vec<u64> = pending.keys().copied().collect();
                    let mut rows: Vec<u64> = (0..1 + rng.below(40))
                        .map(|_| keys[rng.below(keys.len() as u64) as usize])
                        .collect();
                    rows.sort_unstable();
                    rows.dedup();
                    let vals: Vec<Option<i64>> = rows.iter().map(|_| rng.value()).collect();
                    let arr: ArrayRef = Arc::new(Int64Array::from(vals.clone()));
                    w.update(id, 0, &rows, &arr).unwrap();
                    for (r, v) in rows.into_iter().zip(vals) {
                        pending.insert(r, v);
                    }
                }
                3 if !pending.is_empty() => {
                    let keys: Vec<u64> = pending.keys().copied().collect();
                    let mut rows: Vec<u64> = (0..1 + rng.below(10))
                        .map(|_| keys[rng.below(keys.len() as u64) as usize])
                        .collect();
                    rows.sort_unstable();
                    rows.dedup();
                    w.delete(id, &rows).unwrap();
                    for r in rows {
                        pending.remove(&r);
                    }
                }
                _ => {}
            }
        }
        if rng.below(6) == 0 {
            drop(w); // abort: nothing of it may show
        } else {
            w.commit().unwrap();
            model = pending;
        }
        check(&store, &model, &mut rng);
        if rng.below(5) == 0 {
            // Vacuum: deleted rows dropped physically, row ids unchanged.
            store.vacuum().unwrap();
            check(&store, &model, &mut rng);
        }
        if path.is_some() && round % 10 == 9 {
            drop(store);
            store = open();
            check(&store, &model, &mut rng);
        }
    }
}

#[test]
fn random_changes_agree_with_the_model_in_memory() {
    for seed in 1..=12u64 {
        run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), None);
    }
}

#[test]
fn random_changes_agree_with_the_model_across_reopens() {
    for seed in 1..=3u64 {
        let dir = tempfile::tempdir().unwrap();
        run(seed.wrapping_mul(0x2545_F491_4F6C_DD1D), Some(&dir.path().join("m.llkv")));
    }
}
