//! Conjuncts shared by every branch of an OR are factored out (TPC-H Q19's
//! shape): the join then hashes on them instead of building the cross
//! product, and the answers stay those of the unfactored predicate, NULLs
//! included.

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_sql::{Engine, Output};

fn count(e: &mut NativeEngine, sql: &str) -> i64 {
    let out = e.execute(sql).unwrap_or_else(|err| panic!("{sql}: {err}"));
    let Some(Output::Rows { batches, .. }) = out.into_iter().last() else {
        panic!("{sql}: no rows")
    };
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

/// Two tables of `n` rows: a(k, x) and b(k, y), with some NULL keys and values.
fn tables(n: i64) -> NativeEngine {
    let mut e = NativeEngine::new(Database::in_memory());
    e.execute("CREATE TABLE a(k INTEGER, x INTEGER); CREATE TABLE b(k INTEGER, y INTEGER)")
        .unwrap();
    let rows = |f: &dyn Fn(i64) -> String| (0..n).map(f).collect::<Vec<_>>().join(", ");
    let a = rows(&|i| {
        let k = if i % 97 == 0 { "NULL".into() } else { (i % (n / 2)).to_string() };
        let x = if i % 13 == 0 { "NULL".into() } else { (i % 50).to_string() };
        format!("({k}, {x})")
    });
    let b = rows(&|i| {
        let y = if i % 17 == 0 { "NULL".into() } else { (i % 40).to_string() };
        format!("({i}, {y})")
    });
    e.execute(&format!("INSERT INTO a VALUES {a}; INSERT INTO b VALUES {b}")).unwrap();
    e
}

#[test]
fn a_join_condition_repeated_in_every_or_branch_gives_the_unfactored_answer() {
    let n = 3000;
    let mut e = tables(n);
    // The same predicate written with the join condition factored by hand.
    let factored = count(
        &mut e,
        "SELECT count(*) FROM a, b WHERE a.k = b.k AND ((a.x < 10 AND b.y > 5) OR b.y IS NULL \
         OR (a.x BETWEEN 20 AND 22))",
    );
    let repeated = count(
        &mut e,
        "SELECT count(*) FROM a, b WHERE (a.k = b.k AND a.x < 10 AND b.y > 5) \
         OR (b.y IS NULL AND a.k = b.k) OR (a.k = b.k AND a.x BETWEEN 20 AND 22)",
    );
    assert!(factored > 0);
    assert_eq!(repeated, factored);
    // Independent count from the generating rules.
    let mut expected = 0;
    for i in 0..n {
        let ak = if i % 97 == 0 { None } else { Some(i % (n / 2)) };
        let ax = if i % 13 == 0 { None } else { Some(i % 50) };
        let Some(k) = ak else { continue };
        let y = if k % 17 == 0 { None } else { Some(k % 40) };
        let first = matches!((ax, y), (Some(x), Some(y)) if x < 10 && y > 5);
        let second = y.is_none();
        let third = matches!(ax, Some(x) if (20..=22).contains(&x));
        if first || second || third {
            expected += 1;
        }
    }
    assert_eq!(repeated, expected);
}

#[test]
fn a_branch_equal_to_the_shared_part_makes_the_rest_redundant() {
    let mut e = tables(400);
    let plain = count(&mut e, "SELECT count(*) FROM a WHERE x = 3");
    let or = count(&mut e, "SELECT count(*) FROM a WHERE (x = 3 AND k > 10) OR x = 3");
    assert_eq!(or, plain);
    // NOT over an OR with a shared part: three-valued logic must hold.
    let not_or = count(
        &mut e,
        "SELECT count(*) FROM a WHERE NOT ((x = 3 AND k > 10) OR (x = 3 AND k IS NULL))",
    );
    let not_manual =
        count(&mut e, "SELECT count(*) FROM a WHERE NOT (x = 3 AND (k > 10 OR k IS NULL))");
    assert_eq!(not_or, not_manual);
}
