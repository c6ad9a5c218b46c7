//! A small driver for SQLite's sqllogictest files on the native route, for
//! measuring progress while the shared runner (`llkv-slt`) is being built.
//! Run with `LLKV_SLT=path/to/file.test cargo test -p llkv-native --test
//! sqlite_corpus -- --ignored --nocapture`.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_sql::{Engine, Output};
use md5::{Digest, Md5};

fn format_value(c: &dyn Array, r: usize, ty: char) -> String {
    if c.is_null(r) {
        return "NULL".into();
    }
    let (i, f, s): (Option<i64>, Option<f64>, Option<String>) = match c.data_type() {
        DataType::Int64 => {
            let v = c.as_primitive::<Int64Type>().value(r);
            (Some(v), Some(v as f64), Some(v.to_string()))
        }
        DataType::Float64 => {
            let v = c.as_primitive::<Float64Type>().value(r);
            (Some(v as i64), Some(v), Some(llkv_native::value::format_real(v)))
        }
        DataType::Utf8 => {
            let t = c.as_string::<i32>().value(r).to_string();
            let n = llkv_native::value::parse_numeric_prefix(&t);
            (n.as_i64(), n.as_f64(), Some(t))
        }
        _ => (None, None, None),
    };
    match ty {
        'I' => i.map_or("0".into(), |v| v.to_string()),
        'R' => format!("{:.3}", f.unwrap_or(0.0)),
        _ => {
            let t = s.unwrap_or_default();
            if t.is_empty() {
                "(empty)".into()
            } else {
                t.chars().map(|ch| if (' '..='~').contains(&ch) { ch } else { '@' }).collect()
            }
        }
    }
}

fn run_file(path: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut e = NativeEngine::new(Database::in_memory());
    let lines: Vec<&str> = text.lines().collect();
    let (mut pass, mut fail) = (0, 0);
    let mut threshold = 0usize;
    let mut i = 0;
    let verbose = std::env::var("LLKV_SLT_VERBOSE").is_ok();
    while i < lines.len() {
        let mut skip = false;
        let mut line = lines[i].trim_end();
        while line.starts_with("skipif") || line.starts_with("onlyif") {
            let engine = line.split_whitespace().nth(1).unwrap_or("");
            if (line.starts_with("skipif") && engine == "sqlite")
                || (line.starts_with("onlyif") && engine != "sqlite")
            {
                skip = true;
            }
            i += 1;
            line = lines.get(i).map_or("", |l| l.trim_end());
        }
        if line.starts_with("halt") {
            if !skip {
                break;
            }
            i += 1;
            continue;
        }
        if let Some(t) = line.strip_prefix("hash-threshold") {
            threshold = t.trim().parse().unwrap_or(0);
            i += 1;
            continue;
        }
        if line.starts_with("statement") {
            let expect_ok = line.contains("ok");
            i += 1;
            let mut sql = String::new();
            while i < lines.len() && !lines[i].trim().is_empty() {
                sql.push_str(lines[i]);
                sql.push('\n');
                i += 1;
            }
            if skip {
                continue;
            }
            let r = e.execute(&sql);
            if r.is_ok() == expect_ok {
                pass += 1;
            } else {
                fail += 1;
                if verbose {
                    println!("STATEMENT FAIL {sql} -> {:?}", r.err().map(|x| x.message));
                }
            }
            continue;
        }
        if line.starts_with("query") {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let types: Vec<char> = parts.get(1).map_or(Vec::new(), |t| t.chars().collect());
            let sort = parts.get(2).copied().unwrap_or("nosort");
            i += 1;
            let mut sql = String::new();
            while i < lines.len() && lines[i].trim() != "----" && !lines[i].trim().is_empty() {
                sql.push_str(lines[i]);
                sql.push('\n');
                i += 1;
            }
            let mut expected = Vec::new();
            if i < lines.len() && lines[i].trim() == "----" {
                i += 1;
                while i < lines.len() && !lines[i].trim().is_empty() {
                    expected.push(lines[i].trim().to_string());
                    i += 1;
                }
            }
            if skip {
                continue;
            }
            let got = match e.execute(&sql) {
                Ok(out) => match out.into_iter().last() {
                    Some(Output::Rows { batches, .. }) => {
                        let mut rows: Vec<Vec<String>> = Vec::new();
                        for b in &batches {
                            for r in 0..b.num_rows() {
                                rows.push(
                                    b.columns()
                                        .iter()
                                        .enumerate()
                                        .map(|(ci, c)| {
                                            format_value(
                                                c.as_ref(),
                                                r,
                                                *types.get(ci).unwrap_or(&'T'),
                                            )
                                        })
                                        .collect(),
                                );
                            }
                        }
                        Ok(rows)
                    }
                    _ => Err("no rows".to_string()),
                },
                Err(err) => Err(err.message),
            };
            let ok = match &got {
                Err(msg) => {
                    if verbose {
                        println!("QUERY ERROR {sql} -> {msg}");
                    }
                    false
                }
                Ok(rows) => {
                    let mut rows = rows.clone();
                    if sort == "rowsort" {
                        rows.sort();
                    }
                    let mut vals: Vec<String> = rows.into_iter().flatten().collect();
                    if sort == "valuesort" {
                        vals.sort();
                    }
                    let cmp = if expected.len() == 1 && expected[0].contains("values hashing to") {
                        let mut h = Md5::new();
                        for v in &vals {
                            h.update(v.as_bytes());
                            h.update(b"\n");
                        }
                        let digest: String =
                            h.finalize().iter().map(|b| format!("{b:02x}")).collect();
                        vec![format!("{} values hashing to {digest}", vals.len())]
                    } else if threshold > 0 && vals.len() > threshold {
                        vec!["(hash)".into()]
                    } else {
                        vals
                    };
                    let ok = cmp == expected;
                    if !ok && verbose {
                        println!(
                            "QUERY MISMATCH {sql} -> got {:?} expected {:?}",
                            cmp.iter().take(12).collect::<Vec<_>>(),
                            expected.iter().take(12).collect::<Vec<_>>()
                        );
                    }
                    ok
                }
            };
            if ok {
                pass += 1;
            } else {
                fail += 1;
            }
            continue;
        }
        i += 1;
    }
    (pass, fail)
}

#[test]
#[ignore = "needs LLKV_SLT=<file> and the corpus"]
fn sqlite_corpus_files_report_pass_counts() {
    let Ok(paths) = std::env::var("LLKV_SLT") else { return };
    for p in paths.split(',') {
        let t = std::time::Instant::now();
        let (pass, fail) = run_file(p);
        println!("{p}: {pass} passed, {fail} failed ({:.1}s)", t.elapsed().as_secs_f64());
    }
}
