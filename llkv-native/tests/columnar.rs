//! The columnar path gives the row path's results: every query runs once
//! with the columnar path off and once forced on, over tables with NULLs,
//! negative zero, large integers, texts and ties, and the results (values,
//! types, order) must be equal.

use llkv_native::NativeEngine;
use llkv_native::columnar::{ColumnarMode, code_sum_runs, runs};
use llkv_sql::{Engine, Output};

fn setup(e: &mut NativeEngine) {
    e.execute("CREATE TABLE t(k INTEGER, g INTEGER, x REAL, s TEXT, b INTEGER)").unwrap();
    e.execute("CREATE TABLE d(g INTEGER, name TEXT)").unwrap();
    let mut state: u64 = 42;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 33
    };
    for chunk in 0..10 {
        let mut vals = Vec::new();
        for i in 0..600 {
            let k = chunk * 600 + i;
            let r = next();
            let g = if r % 17 == 0 { "NULL".to_string() } else { (r % 50).to_string() };
            let x = match r % 11 {
                0 => "NULL".to_string(),
                1 => "-0.0".to_string(),
                2 => "0.0".to_string(),
                // Quarters: sums of these are exact in any order (a REAL sum's
                // last bits depend on the order of additions, see the module doc).
                _ => format!("{}.{}", (r % 1000) as i64 - 500, [0, 25, 5, 75][(r % 4) as usize]),
            };
            let s = match r % 13 {
                0 => "NULL".to_string(),
                _ => format!("'s{}'", r % 37),
            };
            let b = match r % 19 {
                0 => "NULL".to_string(),
                1 => "4611686018427387904".to_string(),
                _ => ((r % 200) as i64 - 100).to_string(),
            };
            vals.push(format!("({k}, {g}, {x}, {s}, {b})"));
        }
        e.execute(&format!("INSERT INTO t VALUES {}", vals.join(", "))).unwrap();
    }
    let dims: Vec<String> = (0..40).map(|g| format!("({g}, 'n{}')", g % 7)).collect();
    e.execute(&format!("INSERT INTO d VALUES {}", dims.join(", "))).unwrap();
}

const QUERIES: &[&str] = &[
    "SELECT count(*), sum(k), avg(k), min(x), max(x), total(x), sum(x), count(s), min(s), max(s) FROM t",
    "SELECT count(*), sum(k) FROM t WHERE k BETWEEN 100 AND 2000 AND g IS NOT NULL",
    "SELECT g, count(*), sum(x), avg(k), min(s), max(k) FROM t GROUP BY g",
    "SELECT g, s, count(*) FROM t GROUP BY g, s",
    "SELECT x, count(*) FROM t GROUP BY x",
    "SELECT s, count(*), min(x), max(k), sum(g) FROM t GROUP BY s",
    "SELECT min(k), max(k), min(s), max(s), min(x), max(x) FROM t WHERE g > 40",
    "SELECT k, x, s FROM t WHERE x > 10.5 OR s = 's3'",
    "SELECT k * 2 + g, k / 7, k % 7, x / 0, k / 0, -x, x * k FROM t WHERE k < 300",
    "SELECT k FROM t WHERE NOT (g > 10) OR g IS NULL",
    "SELECT k, g IN (1, 2, NULL), g NOT IN (3, 4), x BETWEEN -1 AND 1 FROM t WHERE k % 5 = 0",
    "SELECT CASE WHEN g > 25 THEN 'hi' WHEN g > 10 THEN 'mid' ELSE NULL END, k FROM t WHERE k < 500",
    "SELECT CASE g WHEN 1 THEN x WHEN 2 THEN -x END FROM t WHERE k < 500",
    "SELECT CAST(x AS INTEGER), CAST(k AS REAL), CAST(x AS TEXT), CAST(k AS TEXT) FROM t WHERE k < 400",
    "SELECT k, x FROM t ORDER BY x DESC, k LIMIT 25",
    "SELECT k, x FROM t ORDER BY x LIMIT 25 OFFSET 10",
    "SELECT s, g FROM t ORDER BY s, g DESC LIMIT 40",
    "SELECT g, k FROM t ORDER BY g NULLS LAST LIMIT 30",
    "SELECT k FROM t ORDER BY k + 1 DESC LIMIT 5",
    "SELECT sum(b), avg(b), total(b) FROM t",
    "SELECT g, sum(b) FROM t GROUP BY g",
    "SELECT b * b FROM t WHERE b > 1000",
    "SELECT k, s < 5, x = s, g IS s FROM t WHERE k < 100",
    "SELECT count(*) FROM t WHERE s > 's2' AND s < 's3'",
    "SELECT g, min(x), max(x), count(x) FROM t WHERE x <> 0 GROUP BY g HAVING count(*) > 5",
    "SELECT k, g FROM t WHERE g = 7 ORDER BY k DESC",
    "SELECT d.name, sum(t.x) FROM t JOIN d ON t.g = d.g GROUP BY d.name",
    "SELECT count(*) FROM t WHERE x = 0",
    "SELECT x FROM t WHERE x = 0 LIMIT 20",
    "SELECT t.k, d.name FROM t JOIN d ON t.g = d.g WHERE t.k < 200",
    "SELECT t.k, d.name FROM d, t WHERE d.g = t.g AND d.name <> 'n1' AND t.x > d.g",
    "SELECT a.k, b.k FROM t a JOIN t b ON a.s = b.s WHERE a.k < 50 AND b.k < 100",
    "SELECT count(*), sum(a.x), min(b.s) FROM t a, t b WHERE a.k = b.k + 1",
    "SELECT d.name, count(*) FROM t, d WHERE t.g = d.g AND t.b = d.g GROUP BY d.name",
];

/// The tests switch the process-wide mode: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn show(out: &[Output]) -> String {
    match out.last() {
        Some(Output::Rows { schema, batches }) => {
            format!("{schema:?}\n{}", arrow::util::pretty::pretty_format_batches(batches).unwrap())
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn columnar_path_matches_the_row_path() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut e = NativeEngine::new(llkv_mvcc::Database::in_memory());
    setup(&mut e);
    let before = runs();
    for q in QUERIES {
        ColumnarMode::set(Some(ColumnarMode::Off));
        let rows = e.execute(q).map(|o| show(&o));
        ColumnarMode::set(Some(ColumnarMode::Always));
        let r0 = runs();
        let cols = e.execute(q).map(|o| show(&o));
        if runs() == r0 {
            eprintln!("row path only: {q}");
        }
        ColumnarMode::set(None);
        match (rows, cols) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "results differ for {q}"),
            (a, b) => assert_eq!(a.is_ok(), b.is_ok(), "{q}: {a:?} vs {b:?}"),
        }
    }
    // A table above the `auto` threshold takes the columnar path by default.
    ColumnarMode::set(Some(ColumnarMode::Auto));
    let r0 = runs();
    e.execute("SELECT sum(x), avg(k), max(g), count(*) FROM t").unwrap();
    e.execute("SELECT count(*), sum(x) FROM t WHERE k BETWEEN 500 AND 505").unwrap();
    ColumnarMode::set(None);
    assert_eq!(runs() - r0, 2, "auto mode");
    // Most of these take the columnar path (some fall back on purpose).
    assert!(runs() - before >= 20, "columnar path taken only {} times", runs() - before);
}

/// DATE and DECIMAL columns, joins of three and four tables, LIKE, substr,
/// EXTRACT, outer joins and subqueries (uncorrelated, correlated EXISTS with
/// `=` and `<>`, correlated scalar aggregates), as TPC-H uses them.
const TPCH_SHAPES: &[&str] = &[
    "SELECT sum(p), min(p), max(p), avg(q), count(*) FROM o",
    "SELECT sum(p), total(q), avg(p), avg(q), count(*) FROM o",
    "SELECT sum(p), avg(q), count(*) FROM o WHERE dt < '1995-03-01' AND k > 100",
    "SELECT sum(q), count(*) FROM o WHERE k < 0",
    "SELECT count(*) FROM o WHERE dt BETWEEN date '1995-01-10' AND date '1995-03-01'",
    "SELECT st, pr, sum(p), count(*), avg(q) FROM o WHERE dt <= '1995-06-01' GROUP BY st, pr",
    "SELECT extract(year FROM dt), extract(month FROM dt), count(*) FROM o GROUP BY 1, 2",
    "SELECT dt, count(*) FROM o WHERE dt < dt2 GROUP BY dt ORDER BY 2 DESC, 1 LIMIT 5",
    "SELECT substr(c, 1, 2), count(*) FROM o WHERE c LIKE '%ab%' GROUP BY 1",
    "SELECT count(*) FROM o WHERE c NOT LIKE 'x%y%' AND c LIKE '%_%'",
    "SELECT cu.n, sum(o.p) FROM cu, o, d WHERE cu.id = o.cid AND o.st = d.g AND d.name <> 'n3' GROUP BY cu.n",
    "SELECT cu.id, o.k, d.name FROM cu, o, d, cu c2 WHERE cu.id = o.cid AND d.g = o.st AND c2.id = cu.id + 1 AND o.k < 900",
    "SELECT o.k, o.p FROM o, cu WHERE o.cid = cu.id AND cu.n = 'c3' ORDER BY o.p DESC, o.k LIMIT 10",
    "SELECT count(*) FROM o WHERE cid IN (SELECT id FROM cu WHERE n = 'c2')",
    "SELECT count(*) FROM o WHERE cid NOT IN (SELECT id FROM cu WHERE n > 'c5')",
    "SELECT count(*) FROM o WHERE p > (SELECT avg(p) FROM o WHERE st = 3)",
    "SELECT count(*) FROM cu WHERE EXISTS (SELECT * FROM o WHERE o.cid = cu.id AND o.q > 40)",
    "SELECT count(*) FROM cu WHERE NOT EXISTS (SELECT * FROM o WHERE o.cid = cu.id AND o.st = 2)",
    "SELECT count(*), sum(a.p) FROM o a WHERE EXISTS (SELECT * FROM o b WHERE b.cid = a.cid AND b.st <> a.st) \
     AND NOT EXISTS (SELECT * FROM o c WHERE c.cid = a.cid AND c.st <> a.st AND c.dt > c.dt2)",
    "SELECT count(*) FROM o a WHERE a.q < (SELECT 0.5 * avg(b.q) FROM o b WHERE b.cid = a.cid)",
    "SELECT cu.id, count(*) FROM cu, o WHERE cu.id = o.cid AND o.p = (SELECT min(p) FROM o x WHERE x.cid = cu.id) GROUP BY cu.id",
    "SELECT count(*) FROM o a WHERE a.q > (SELECT count(*) FROM o b WHERE b.cid = a.cid AND b.st = a.st)",
    "SELECT cu.id, count(o.k) FROM cu LEFT JOIN o ON cu.id = o.cid AND o.c NOT LIKE '%ab%' GROUP BY cu.id",
    "SELECT cu.id, o.k, o.p FROM cu LEFT JOIN o ON o.cid = cu.id AND o.q > 20 WHERE cu.id < 60",
    "SELECT dt, pr, count(*), sum(p), max(dt2) FROM o GROUP BY dt, pr",
    "SELECT c_count, count(*) FROM (SELECT cu.id, count(o.k) FROM cu LEFT JOIN o ON cu.id = o.cid \
     AND o.c NOT LIKE '%ab%' GROUP BY cu.id) AS x(id, c_count) GROUP BY c_count ORDER BY 2 DESC, 1 DESC",
    "SELECT d.name, count(*), min(o.k), max(cu.n), sum(o.q) FROM cu, o, d \
     WHERE cu.id = o.cid AND o.st = d.g GROUP BY d.name",
    "SELECT d.name, o.pr, count(*) FROM o, d, cu, o o2 WHERE cu.id = o.cid AND o.st = d.g \
     AND o2.cid = cu.id AND o2.st = d.g GROUP BY d.name, o.pr",
];

fn setup_tpch(e: &mut NativeEngine) {
    e.execute(
        "CREATE TABLE o(k INTEGER, cid INTEGER, st INTEGER, pr TEXT, p DECIMAL(15,2), \
         q DECIMAL(15,2), dt DATE, dt2 DATE, c TEXT)",
    )
    .unwrap();
    e.execute("CREATE TABLE cu(id INTEGER, n TEXT)").unwrap();
    e.execute("CREATE TABLE d(g INTEGER, name TEXT)").unwrap();
    let mut state: u64 = 7;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        state >> 33
    };
    let words = ["ab", "xAby", "quick", "ABc", "y", "x_y", "é ab"];
    for chunk in 0..6 {
        let mut vals = Vec::new();
        for i in 0..800 {
            let k = chunk * 800 + i;
            let r = next();
            let cid = if r % 23 == 0 { "NULL".to_string() } else { (r % 300).to_string() };
            // Quarters: REAL sums of these are exact in any order.
            let quarter = ["00", "25", "50", "75"];
            let p = if r % 29 == 0 {
                "NULL".to_string()
            } else {
                format!("{}.{}", r % 5000, quarter[(r % 4) as usize])
            };
            let day = |x: u64| format!("'1995-{:02}-{:02}'", 1 + x % 6, 1 + x % 28);
            let dt = if r % 31 == 0 { "NULL".to_string() } else { day(r / 7) };
            let c = format!("'{} {}'", words[(r % 7) as usize], words[(r / 11 % 7) as usize]);
            vals.push(format!(
                "({k}, {cid}, {}, 'p{}', {p}, {}.{}, {dt}, {}, {c})",
                r % 5,
                r % 3,
                r % 50,
                quarter[(r / 5 % 4) as usize],
                day(r / 13)
            ));
        }
        e.execute(&format!("INSERT INTO o VALUES {}", vals.join(", "))).unwrap();
    }
    let cus: Vec<String> = (0..320).map(|i| format!("({i}, 'c{}')", i % 9)).collect();
    e.execute(&format!("INSERT INTO cu VALUES {}", cus.join(", "))).unwrap();
    let dims: Vec<String> = (0..5).map(|g| format!("({g}, 'n{}')", g + 1)).collect();
    e.execute(&format!("INSERT INTO d VALUES {}", dims.join(", "))).unwrap();
}

#[test]
fn columnar_path_matches_the_row_path_on_tpch_shapes() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut e = NativeEngine::new(llkv_mvcc::Database::in_memory());
    setup_tpch(&mut e);
    let mut taken = 0;
    for q in TPCH_SHAPES {
        ColumnarMode::set(Some(ColumnarMode::Off));
        let rows = e.execute(q).map(|o| show(&o));
        ColumnarMode::set(Some(ColumnarMode::Always));
        let r0 = runs();
        let cols = e.execute(q).map(|o| show(&o));
        if runs() == r0 {
            eprintln!("row path only: {q}");
        } else {
            taken += 1;
        }
        ColumnarMode::set(None);
        match (rows, cols) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "results differ for {q}"),
            (a, b) => panic!("{q}: {a:?} vs {b:?}"),
        }
    }
    assert!(taken >= 15, "columnar path taken for only {taken} queries");
}

/// SUM / AVG of a bare DECIMAL column add up its unscaled integers exactly
/// and round once: ten times 0.1 is 1.0 there, where the row path's running
/// REAL sum gives 0.9999999999999999 (the last-bits difference of REAL sums
/// the module documents).
#[test]
fn decimal_sums_on_the_columnar_path_are_exact() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut e = NativeEngine::new(llkv_mvcc::Database::in_memory());
    e.execute("CREATE TABLE m(k INTEGER, v DECIMAL(15,1))").unwrap();
    let vals: Vec<String> = (0..10).map(|k| format!("({k}, 0.1)")).collect();
    e.execute(&format!("INSERT INTO m VALUES {}", vals.join(", "))).unwrap();
    let first = |e: &mut NativeEngine, q: &str| -> Vec<f64> {
        match e.execute(q).unwrap().last() {
            Some(Output::Rows { batches, .. }) => batches[0]
                .columns()
                .iter()
                .map(|c| c.as_any().downcast_ref::<arrow::array::Float64Array>().unwrap().value(0))
                .collect(),
            other => panic!("{other:?}"),
        }
    };
    let q = "SELECT sum(v), avg(v), total(v) FROM m";
    ColumnarMode::set(Some(ColumnarMode::Off));
    let rows = first(&mut e, q);
    ColumnarMode::set(Some(ColumnarMode::Always));
    let r0 = runs();
    let cols = first(&mut e, q);
    let taken = runs() - r0;
    ColumnarMode::set(None);
    assert_eq!(taken, 1);
    assert_eq!(rows[0], 0.9999999999999999);
    assert_eq!(cols, vec![1.0, 0.1, 1.0]);
}

/// Range tests on a DATE column go to the store as day-number ranges, yet
/// keep the route's text comparison: a date outside years 0000–9999 (which
/// only another writer stores) is matched by its text on both paths, in a
/// segment with such dates and one without.
#[test]
fn date_ranges_pushed_to_the_store_keep_text_order_for_outlying_dates() {
    use arrow::array::{Array, ArrayRef, Date32Array, Int64Array, RecordBatch};
    use std::sync::Arc;
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let db = llkv_mvcc::Database::in_memory();
    let mut e = NativeEngine::new(db.clone());
    e.execute("CREATE TABLE dd(k INTEGER, d DATE)").unwrap();
    let outliers = [2_932_897, 6_575_000, -719_529, -800_000, 3_000_000];
    for (part, with_outliers) in [(0i64, false), (1, true)] {
        let mut days: Vec<Option<i32>> =
            (0..500).map(|i| (i % 17 != 0).then_some(9_000 + (i * 7) % 400)).collect();
        if with_outliers {
            days.extend(outliers.iter().map(|&d| Some(d)));
        }
        let n = days.len() as i64;
        let txn = db.begin();
        let t = txn.table("dd").unwrap().unwrap();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values((0..n).map(|k| part * 10_000 + k))),
            Arc::new(Date32Array::from(days)),
        ];
        txn.insert(&t, &RecordBatch::try_new(t.meta.schema(), cols).unwrap()).unwrap();
        txn.commit().unwrap();
    }
    // Every date's text as the route shows it, unfiltered.
    let texts: Vec<Option<String>> = match e.execute("SELECT d FROM dd").unwrap().last() {
        Some(Output::Rows { batches, .. }) => batches
            .iter()
            .flat_map(|b| {
                let s =
                    arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).unwrap();
                let s = s.as_any().downcast_ref::<arrow::array::StringArray>().unwrap().clone();
                (0..s.len()).map(move |i| s.is_valid(i).then(|| s.value(i).to_string()))
            })
            .collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(texts.len(), 1_005);
    let count = |e: &mut NativeEngine, q: &str| -> i64 {
        match e.execute(q).unwrap().last() {
            Some(Output::Rows { batches, .. }) => {
                batches[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0)
            }
            other => panic!("{other:?}"),
        }
    };
    type TextTest = dyn Fn(&str) -> bool;
    let cases: [(&str, &TextTest); 6] = [
        ("d BETWEEN '1994-11-01' AND '1994-11-25'", &|t| {
            ("1994-11-01"..="1994-11-25").contains(&t)
        }),
        ("d BETWEEN '1994-11-01' AND '9999-12-31'", &|t| {
            ("1994-11-01"..="9999-12-31").contains(&t)
        }),
        ("d >= '1995-01-01'", &|t| t >= "1995-01-01"),
        ("d < '1994-09-01'", &|t| t < "1994-09-01"),
        ("'1995-01-01' < d", &|t| t > "1995-01-01"),
        ("d <= '0001-01-01' OR d = '1994-10-10'", &|t| t <= "0001-01-01" || t == "1994-10-10"),
    ];
    for (cond, want) in cases {
        let expected = texts.iter().flatten().filter(|t| want(t)).count() as i64;
        let q = format!("SELECT count(*) FROM dd WHERE {cond}");
        for mode in [ColumnarMode::Off, ColumnarMode::Always] {
            ColumnarMode::set(Some(mode));
            let got = count(&mut e, &q);
            ColumnarMode::set(None);
            assert_eq!(got, expected, "{q} ({mode:?})");
        }
    }
}

/// SUM / AVG / TOTAL of bare DECIMAL columns with COUNT(*) are read from
/// the stored codes (never widened into arrays) and agree with the row
/// path: over several segments, with NULLs, pushed predicates, deleted rows,
/// updated (patched) values and a transaction's own rows. A column whose
/// values may reach 2^53 is not summed that way.
#[test]
fn decimal_sums_read_from_stored_codes_match_the_row_path() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut e = NativeEngine::new(llkv_mvcc::Database::in_memory());
    e.execute(
        "CREATE TABLE m(k INTEGER, price DECIMAL(15,2), tax DECIMAL(15,2), big DECIMAL(18,2))",
    )
    .unwrap();
    for part in 0..4 {
        let vals: Vec<String> = (0..2500)
            .map(|i| {
                let k = part * 2500 + i;
                let tax = if k % 5 == 0 { "NULL".to_string() } else { format!("0.0{}", k % 9) };
                format!(
                    "({k}, {}.{:02}, {tax}, {})",
                    900 + k * 3,
                    k % 100,
                    i64::from(k) * 1_000_000_000_000
                )
            })
            .collect();
        e.execute(&format!("INSERT INTO m VALUES {}", vals.join(", "))).unwrap();
    }
    // (query, read from codes): a WHERE clause stays a filter above the
    // scan (the route's comparison rules), so those sums read the rows.
    let queries = [
        ("SELECT sum(price), avg(price), total(tax), count(*) FROM m", true),
        ("SELECT avg(tax), count(*), sum(tax), total(price) FROM m", true),
        ("SELECT sum(tax), count(*), avg(tax) FROM m WHERE k BETWEEN 1234 AND 8765", false),
        ("SELECT sum(price) FROM m WHERE k < 0", false),
    ];
    let values = |out: &[Output]| -> Vec<Option<f64>> {
        let Some(Output::Rows { batches, .. }) = out.last() else { panic!("{out:?}") };
        batches[0]
            .columns()
            .iter()
            .map(|c| {
                let c = arrow::compute::cast(c, &arrow::datatypes::DataType::Float64).unwrap();
                let c = c.as_any().downcast_ref::<arrow::array::Float64Array>().unwrap();
                arrow::array::Array::is_valid(c, 0).then(|| c.value(0))
            })
            .collect()
    };
    let check = |e: &mut NativeEngine, q: &str, from_codes: bool| {
        ColumnarMode::set(Some(ColumnarMode::Off));
        let rows = values(&e.execute(q).unwrap());
        ColumnarMode::set(Some(ColumnarMode::Always));
        let before = code_sum_runs();
        let cols = values(&e.execute(q).unwrap());
        let taken = code_sum_runs() - before;
        ColumnarMode::set(None);
        assert_eq!(taken, u64::from(from_codes), "{q}");
        assert_eq!(rows.len(), cols.len(), "{q}");
        for (a, b) in rows.iter().zip(&cols) {
            match (a, b) {
                (Some(a), Some(b)) => {
                    assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{q}: {a} vs {b}")
                }
                _ => assert_eq!(a, b, "{q}"),
            }
        }
    };
    for (q, from_codes) in queries {
        check(&mut e, q, from_codes);
    }
    e.execute("DELETE FROM m WHERE k % 7 = 0 OR k BETWEEN 3000 AND 3999").unwrap();
    e.execute("UPDATE m SET price = price + 1000.5 WHERE k < 40").unwrap();
    for (q, from_codes) in queries {
        check(&mut e, q, from_codes);
    }
    e.execute("BEGIN").unwrap();
    e.execute("INSERT INTO m VALUES (20000, 5.25, NULL, 1), (20001, 7.75, 0.5, 2)").unwrap();
    e.execute("DELETE FROM m WHERE k BETWEEN 5000 AND 5010").unwrap();
    for (q, from_codes) in queries {
        check(&mut e, q, from_codes);
    }
    e.execute("COMMIT").unwrap();
    // Unscaled values up to 10^18 (past 2^53): not summed from codes.
    check(&mut e, "SELECT sum(big), count(*) FROM m", false);
}
