//! DELETE and UPDATE whose WHERE DataFusion cannot pass on whole either run
//! correctly or fail, and never change rows they should not.

mod common;
use common::*;
use llkv_sql::Engine;

fn setup() -> llkv_provider::DataFusionEngine {
    let mut e = engine();
    run(&mut e, "CREATE TABLE t (x INTEGER, y TEXT)");
    run(&mut e, "CREATE TABLE bad (x INTEGER)");
    run(&mut e, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')");
    run(&mut e, "INSERT INTO bad VALUES (2), (4)");
    e
}

fn all(e: &mut llkv_provider::DataFusionEngine) -> Vec<String> {
    rows(e, "SELECT x, y FROM t ORDER BY x")
}

#[test]
fn delete_with_an_in_subquery_deletes_the_right_rows_or_changes_nothing() {
    let mut e = setup();
    match e.execute("DELETE FROM t WHERE x IN (SELECT x FROM bad)") {
        Ok(_) => assert_eq!(all(&mut e), ["1|a", "3|c"]),
        Err(err) => {
            eprintln!("refused: {err}");
            assert!(err.message.contains("subquery"), "{err}");
            assert_eq!(all(&mut e), ["1|a", "2|b", "3|c", "4|d"]);
        }
    }
}

#[test]
fn update_with_an_exists_subquery_is_refused_and_changes_nothing() {
    let mut e = setup();
    let r = e.execute("UPDATE t SET y = 'z' WHERE EXISTS (SELECT 1 FROM bad WHERE bad.x = t.x)");
    match r {
        Ok(_) => assert_eq!(all(&mut e), ["1|a", "2|z", "3|c", "4|z"]),
        Err(_) => assert_eq!(all(&mut e), ["1|a", "2|b", "3|c", "4|d"]),
    }
}

#[test]
fn delete_where_false_deletes_nothing() {
    let mut e = setup();
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE false"), 0);
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE 1 = 2"), 0);
    assert_eq!(affected(&mut e, "UPDATE t SET y = 'z' WHERE NULL"), 0);
    assert_eq!(all(&mut e), ["1|a", "2|b", "3|c", "4|d"]);
}

#[test]
fn delete_with_limit_is_refused_and_changes_nothing() {
    let mut e = setup();
    if e.execute("DELETE FROM t WHERE x > 1 LIMIT 1").is_ok() {
        assert_eq!(rows(&mut e, "SELECT count(*) FROM t"), ["3"]);
    } else {
        assert_eq!(all(&mut e), ["1|a", "2|b", "3|c", "4|d"]);
    }
}

#[test]
fn delete_where_null_comparison_deletes_nothing() {
    let mut e = setup();
    run(&mut e, "INSERT INTO t VALUES (NULL, 'n')");
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE x <> 1"), 3);
    assert_eq!(rows(&mut e, "SELECT y FROM t ORDER BY y"), ["a", "n"]);
}
