//! UNION [ALL], INTERSECT and EXCEPT. Without ALL the result is a set; SQLite
//! emits it in sorted order, and so do we.

use crate::plan::SetOp;
use crate::value::{GroupKey, Row, Value};
use std::collections::HashSet;

/// Combines two inputs.
pub struct SetOpExecutor;

fn key(r: &Row) -> Vec<GroupKey> {
    r.iter().map(Value::group_key).collect()
}

fn sort_rows(rows: &mut [Row]) {
    rows.sort_by(|a, b| {
        for (x, y) in a.iter().zip(b) {
            let o = x.total_cmp(y);
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
}

impl SetOpExecutor {
    /// Runs the set operation.
    pub fn execute(left: Vec<Row>, right: Vec<Row>, op: SetOp, all: bool) -> Vec<Row> {
        let mut out = match (op, all) {
            (SetOp::Union, true) => {
                let mut l = left;
                l.extend(right);
                return l;
            }
            (SetOp::Union, false) => {
                let mut seen = HashSet::new();
                left.into_iter().chain(right).filter(|r| seen.insert(key(r))).collect::<Vec<_>>()
            }
            (SetOp::Intersect, _) => {
                let r: HashSet<_> = right.iter().map(key).collect();
                let mut seen = HashSet::new();
                left.into_iter()
                    .filter(|x| r.contains(&key(x)) && (all || seen.insert(key(x))))
                    .collect()
            }
            (SetOp::Except, _) => {
                let r: HashSet<_> = right.iter().map(key).collect();
                let mut seen = HashSet::new();
                left.into_iter()
                    .filter(|x| !r.contains(&key(x)) && (all || seen.insert(key(x))))
                    .collect()
            }
        };
        sort_rows(&mut out);
        out
    }
}
