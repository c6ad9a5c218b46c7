//! DELETE and UPDATE whose WHERE DataFusion cannot pass to a provider whole
//! (subqueries, other tables, constant false, LIMIT) change exactly the rows
//! they should, and EXPLAIN of them changes nothing.

mod common;
use common::*;
use llkv_sql::Engine;

fn setup() -> llkv_provider::DataFusionEngine {
    let mut e = engine();
    run(&mut e, "CREATE TABLE t (x INTEGER, y TEXT)");
    run(&mut e, "CREATE TABLE bad (x INTEGER, note TEXT)");
    run(&mut e, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')");
    run(&mut e, "INSERT INTO bad VALUES (2, 'two'), (4, 'four'), (9, 'nine')");
    e
}

fn all(e: &mut llkv_provider::DataFusionEngine) -> Vec<String> {
    rows(e, "SELECT x, y FROM t ORDER BY x")
}

const UNCHANGED: [&str; 4] = ["1|a", "2|b", "3|c", "4|d"];

#[test]
fn delete_with_an_in_subquery_deletes_the_matching_rows() {
    let mut e = setup();
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE x IN (SELECT x FROM bad)"), 2);
    assert_eq!(all(&mut e), ["1|a", "3|c"]);
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE x NOT IN (SELECT x FROM bad) AND x > 2"), 1);
    assert_eq!(all(&mut e), ["1|a"]);
}

#[test]
fn delete_with_exists_and_scalar_subqueries() {
    let mut e = setup();
    let n = affected(&mut e, "DELETE FROM t WHERE EXISTS (SELECT 1 FROM bad WHERE bad.x = t.x)");
    assert_eq!(n, 2);
    assert_eq!(all(&mut e), ["1|a", "3|c"]);
    let mut e = setup();
    // The subquery reads the table being changed: it sees it before the change.
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE x > (SELECT avg(x) FROM t)"), 2);
    assert_eq!(all(&mut e), ["1|a", "2|b"]);
    let mut e = setup();
    let sql = "DELETE FROM t WHERE NOT EXISTS (SELECT 1 FROM bad WHERE bad.x = t.x) AND y <> 'a'";
    assert_eq!(affected(&mut e, sql), 1);
    assert_eq!(all(&mut e), ["1|a", "2|b", "4|d"]);
}

#[test]
fn update_with_subqueries_in_where_and_set() {
    let mut e = setup();
    let n =
        affected(&mut e, "UPDATE t SET y = 'z' WHERE EXISTS (SELECT 1 FROM bad WHERE bad.x = t.x)");
    assert_eq!(n, 2);
    assert_eq!(all(&mut e), ["1|a", "2|z", "3|c", "4|z"]);
    let n = affected(&mut e, "UPDATE t SET x = (SELECT max(x) FROM bad) WHERE y = 'a'");
    assert_eq!(n, 1);
    assert_eq!(all(&mut e), ["2|z", "3|c", "4|z", "9|a"]);
    // A correlated scalar subquery in SET (DataFusion wants it aggregated).
    let mut e = setup();
    let sql = "UPDATE t SET y = (SELECT max(note) FROM bad WHERE bad.x = t.x) \
               WHERE x IN (SELECT x FROM bad)";
    assert_eq!(affected(&mut e, sql), 2);
    assert_eq!(all(&mut e), ["1|a", "2|two", "3|c", "4|four"]);
    let sql = "UPDATE t SET y = (SELECT note FROM bad WHERE bad.x = t.x)";
    let err = e.execute(sql).expect_err("DataFusion refuses a non-aggregated correlated subquery");
    assert!(err.message.contains("Correlated scalar subquery"), "{err}");
    assert_eq!(all(&mut e), ["1|a", "2|two", "3|c", "4|four"]);
}

#[test]
fn update_of_an_aliased_table_with_a_subquery() {
    let mut e = setup();
    let n = affected(&mut e, "UPDATE t AS a SET y = 'q' WHERE a.x IN (SELECT x FROM bad)");
    assert_eq!(n, 2);
    assert_eq!(all(&mut e), ["1|a", "2|q", "3|c", "4|q"]);
}

#[test]
fn update_from_another_table_is_refused_by_datafusion_and_changes_nothing() {
    let mut e = setup();
    let err = e
        .execute("UPDATE t SET y = bad.note FROM bad WHERE bad.x = t.x")
        .expect_err("DataFusion 55's SQL planner has no UPDATE … FROM");
    assert!(err.message.contains("UPDATE ... FROM"), "{err}");
    assert_eq!(all(&mut e), UNCHANGED);
}

#[test]
fn delete_where_false_deletes_nothing() {
    let mut e = setup();
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE false"), 0);
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE 1 = 2"), 0);
    assert_eq!(affected(&mut e, "UPDATE t SET y = 'z' WHERE NULL"), 0);
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE x IN (SELECT x FROM bad) AND false"), 0);
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE x IN (SELECT x FROM bad WHERE false)"), 0);
    assert_eq!(all(&mut e), UNCHANGED);
}

#[test]
fn delete_with_limit_deletes_at_most_that_many_matching_rows() {
    let mut e = setup();
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE x > 1 LIMIT 1"), 1);
    let left = all(&mut e);
    assert_eq!(left.len(), 3);
    assert!(left.contains(&"1|a".to_string()), "{left:?}");
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE x > 100 LIMIT 5"), 0);
    assert_eq!(affected(&mut e, "DELETE FROM t LIMIT 0"), 0);
    assert_eq!(all(&mut e).len(), 3);
}

#[test]
fn explain_of_a_rewritten_statement_changes_nothing() {
    let mut e = setup();
    let plan = text(&mut e, "EXPLAIN DELETE FROM t WHERE x IN (SELECT x FROM bad)");
    assert!(plan.contains("LlkvDmlExec: op=DELETE ROWS, table=t"), "{plan}");
    let plan = text(&mut e, "EXPLAIN UPDATE t SET y = 'z' WHERE x = (SELECT min(x) FROM bad)");
    assert!(plan.contains("LlkvDmlExec: op=UPDATE ROWS, table=t"), "{plan}");
    assert_eq!(all(&mut e), UNCHANGED);
}

#[test]
fn a_rewritten_statement_inside_a_transaction_rolls_back() {
    let mut e = setup();
    run(&mut e, "BEGIN");
    run(&mut e, "INSERT INTO t VALUES (2, 'again')");
    // Rows inserted by the transaction are found and deleted too.
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE x IN (SELECT x FROM bad)"), 3);
    assert_eq!(all(&mut e), ["1|a", "3|c"]);
    run(&mut e, "ROLLBACK");
    assert_eq!(all(&mut e), UNCHANGED);
}

#[test]
fn delete_where_null_comparison_deletes_nothing() {
    let mut e = setup();
    run(&mut e, "INSERT INTO t VALUES (NULL, 'n')");
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE x <> 1"), 3);
    assert_eq!(rows(&mut e, "SELECT y FROM t ORDER BY y"), ["a", "n"]);
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE x NOT IN (SELECT x FROM bad)"), 1);
    assert_eq!(rows(&mut e, "SELECT y FROM t ORDER BY y"), ["n"]);
    let _ = e.execute("SELECT 1");
}

#[test]
fn a_where_with_repeated_terms_survives_common_subexpression_elimination() {
    // DataFusion's optimizer moves `x + 1` into a projection below the filter
    // (`__common_expr_1`); the statement must still see its whole WHERE.
    let mut e = setup();
    let sql = "DELETE FROM t WHERE (x + 1 > 2 AND y = 'b') OR (x + 1 > 2 AND y = 'd') \
               OR (x + 1 > 2 AND x + 1 < 0)";
    assert_eq!(affected(&mut e, sql), 2);
    assert_eq!(all(&mut e), ["1|a", "3|c"]);
    let sql = "UPDATE t SET y = 'u' WHERE (x * 2 > 4 AND y = 'c') OR (x * 2 > 4 AND y = 'zz')";
    assert_eq!(affected(&mut e, sql), 1);
    assert_eq!(all(&mut e), ["1|a", "3|u"]);
}
