//! Result checks and the text tables, in the layout of `peers.py`, over a list
//! of engine summaries (llkv's routes, optionally after the peers' from a
//! peers results JSON). A summary has the shape of `peers.summarize()`:
//! `{engine, load: {table: s}, load_total_s, storage_bytes, tpch: {"1": rec},
//! micro: {name: rec}, peak_rss_bytes, wall_s, other_cpu_cores}`.

use crate::load::TABLES;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Flags wrong row counts (SF1 answer set) and checksum disagreements with
/// the first engine that produced a result, as `peers.check_results`.
pub fn check_results(
    summaries: &mut [Value],
    sf: f64,
    sf1_rows: &BTreeMap<u32, u64>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut reference: BTreeMap<String, (String, f64)> = BTreeMap::new();
    for s in summaries.iter_mut() {
        let engine = s["engine"].as_str().unwrap_or("?").to_string();
        for part in ["tpch", "micro"] {
            let Some(recs) = s.get_mut(part).and_then(Value::as_object_mut) else { continue };
            for (key, r) in recs.iter_mut() {
                if r["status"] != "ok" || r.get("checksum").is_none() {
                    continue;
                }
                let label = if part == "tpch" { format!("Q{key}") } else { key.clone() };
                let rows = r["rows"].as_u64().unwrap_or(u64::MAX);
                let expected = key.parse::<u32>().ok().and_then(|q| sf1_rows.get(&q));
                if part == "tpch"
                    && sf == 1.0
                    && let Some(&want) = expected
                    && rows != want
                {
                    r["check"] = json!("row-count");
                    problems.push(format!("{engine} {label}: {rows} rows, answer set has {want}"));
                    continue;
                }
                if key.starts_with("scan_sum_after") || key.starts_with("point_lookup") {
                    continue;
                }
                let cs = r["checksum"].as_f64().unwrap_or(f64::NAN);
                let rk = format!("{part}:{key}");
                match reference.get(&rk) {
                    None => {
                        reference.insert(rk, (engine.clone(), cs));
                    }
                    Some((other, want)) => {
                        let close =
                            (cs - want).abs() <= f64::max(1e-6 * cs.abs().max(want.abs()), 1e-6);
                        if !close {
                            r["check"] = json!("checksum");
                            problems.push(format!(
                                "{engine} {label}: checksum {cs} != {other}'s {want}"
                            ));
                        }
                    }
                }
            }
        }
    }
    problems
}

fn cell(r: Option<&Value>) -> String {
    let Some(r) = r else { return "-".into() };
    match r["status"].as_str() {
        Some("ok") => {
            let mut v = format!("{:.3}", r["median_s"].as_f64().unwrap_or(f64::NAN));
            if r["warmup_as_sample"] == true {
                v.push('*');
            }
            if r.get("check").is_some() {
                v.push('!');
            }
            v
        }
        Some("timeout") => "TIMEOUT".into(),
        Some("error") => "ERROR".into(),
        Some(s) => s.into(),
        None => "?".into(),
    }
}

fn print_table(title: &str, header: &[String], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(String::len).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| if i == 0 { format!("{c:<w$}") } else { format!("{c:>w$}") })
            .collect();
        println!("{}", parts.join("  "));
    };
    println!("\n{title}");
    line(header);
    println!("{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
    for r in rows {
        line(r);
    }
}

fn f(v: &Value, digits: usize) -> String {
    v.as_f64().map_or_else(|| "-".into(), |x| format!("{x:.digits$}"))
}

fn mib(v: &Value) -> String {
    v.as_f64().map_or_else(|| "-".into(), |x| format!("{:.0}", x / 1048576.0))
}

/// Prints the load, TPC-H and micro-workload tables.
pub fn print(summaries: &[Value], sf: f64, queries: &[u32], micro: &[(&str, String)], title: &str) {
    let mut header = vec!["table".to_string()];
    header.extend(summaries.iter().map(|s| s["engine"].as_str().unwrap_or("?").to_string()));
    let mut rows = Vec::new();
    for t in TABLES.iter().copied().chain(["(post-load)"]) {
        let mut r = vec![t.to_string()];
        r.extend(summaries.iter().map(|s| f(&s["load"][t], 2)));
        rows.push(r);
    }
    let mut add = |label: &str, g: &dyn Fn(&Value) -> String| {
        let mut r = vec![label.to_string()];
        r.extend(summaries.iter().map(g));
        rows.push(r);
    };
    add("TOTAL load s", &|s| f(&s["load_total_s"], 2));
    add("storage MiB", &|s| mib(&s["storage_bytes"]));
    add("peak RSS MiB", &|s| mib(&s["peak_rss_bytes"]));
    add("engine wall s", &|s| f(&s["wall_s"], 0));
    add("other procs, cores", &|s| f(&s["other_cpu_cores"], 2));
    print_table(&format!("LOAD (seconds) - TPC-H SF{sf}  {title}"), &header, &rows);

    if !queries.is_empty() {
        header[0] = "query".into();
        let mut rows = Vec::new();
        for q in queries {
            let mut r = vec![format!("Q{q}")];
            r.extend(summaries.iter().map(|s| cell(s["tpch"].get(q.to_string()))));
            rows.push(r);
        }
        let ok_all: Vec<u32> = queries
            .iter()
            .copied()
            .filter(|q| summaries.iter().all(|s| s["tpch"][q.to_string()]["status"] == "ok"))
            .collect();
        let secs =
            |s: &Value, q: u32| s["tpch"][q.to_string()]["median_s"].as_f64().unwrap_or(f64::NAN);
        let mut r = vec![format!("sum ({} q ok everywhere)", ok_all.len())];
        r.extend(
            summaries
                .iter()
                .map(|s| format!("{:.3}", ok_all.iter().map(|&q| secs(s, q)).sum::<f64>())),
        );
        rows.push(r);
        let mut r = vec![format!("geomean ({} q)", ok_all.len())];
        r.extend(summaries.iter().map(|s| {
            if ok_all.is_empty() {
                return "-".into();
            }
            let m = ok_all.iter().map(|&q| secs(s, q).max(1e-9).ln()).sum::<f64>()
                / ok_all.len() as f64;
            format!("{:.4}", m.exp())
        }));
        rows.push(r);
        let mut r = vec!["queries ok".to_string()];
        r.extend(summaries.iter().map(|s| {
            let n = s["tpch"]
                .as_object()
                .map_or(0, |o| o.values().filter(|v| v["status"] == "ok").count());
            n.to_string()
        }));
        rows.push(r);
        print_table(
            &format!("TPC-H SF{sf}: median seconds (* = single run, ! = failed result check)"),
            &header,
            &rows,
        );
    }

    if !micro.is_empty() {
        header[0] = "workload".into();
        let mut rows = Vec::new();
        for (m, _) in micro {
            let mut r = vec![m.to_string()];
            r.extend(summaries.iter().map(|s| cell(s["micro"].get(*m))));
            rows.push(r);
        }
        for (m, field, label) in [
            ("point_lookup_1k", "us_per_lookup", "  us per lookup"),
            ("update_10k_txn", "us_per_op", "  us per update (txn)"),
            ("update_10k_autocommit", "us_per_op", "  us per update (autocommit)"),
            (
                "update_10k_autocommit_buffered",
                "us_per_op",
                "  us per update (autocommit, buffered)",
            ),
        ] {
            let mut r = vec![label.to_string()];
            r.extend(summaries.iter().map(|s| f(&s["micro"][m][field], 1)));
            rows.push(r);
        }
        print_table(
            "MICRO-WORKLOADS: seconds (TIMEOUT on updates = partial, see us per update)",
            &header,
            &rows,
        );
        println!("\nworkloads:");
        for (m, d) in micro {
            println!("  {m:<31} {d}");
        }
    }
}

/// Errors of every engine, for the end of the report.
pub fn print_errors(summaries: &[Value]) {
    let mut first = true;
    for s in summaries {
        for part in ["tpch", "micro"] {
            let Some(recs) = s[part].as_object() else { continue };
            for (k, r) in recs {
                if r["status"] == "error" {
                    if first {
                        println!("\nERRORS:");
                        first = false;
                    }
                    let msg: String = r["error"].as_str().unwrap_or("").chars().take(300).collect();
                    let q = if part == "tpch" { "Q" } else { "" };
                    println!("  {} {q}{k}: {msg}", s["engine"].as_str().unwrap_or("?"));
                }
            }
        }
    }
}

/// The compact JSON (medians only), as `peers.report` returns it.
pub fn compact(summaries: &[Value], sf: f64) -> Value {
    let mut load = Map::new();
    let mut tpch = Map::new();
    let mut micro = Map::new();
    for s in summaries {
        let e = s["engine"].as_str().unwrap_or("?").to_string();
        load.insert(e.clone(), s["load_total_s"].clone());
        let medians = |part: &str, prefix: &str| -> Value {
            let mut m = Map::new();
            if let Some(o) = s[part].as_object() {
                for (k, r) in o {
                    let v = if r["status"] == "ok" {
                        r["median_s"].clone()
                    } else {
                        r["status"].clone()
                    };
                    m.insert(format!("{prefix}{k}"), v);
                }
            }
            Value::Object(m)
        };
        tpch.insert(e.clone(), medians("tpch", "Q"));
        micro.insert(e, medians("micro", ""));
    }
    json!({"sf": sf, "load_s": load, "tpch_median_s": tpch, "micro_median_s": micro})
}
