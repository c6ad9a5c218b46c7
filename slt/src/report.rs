//! What the runner prints: a line per file and combination, a comparison
//! table, the final `N passed, N failed` line, and the JSON report.

use crate::engines::Route;
use crate::suite::{Combo, Difference, FileRun};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// One line for a file on a combination:
/// `PATH  ROUTE/BACKEND  P passed  F failed  S skipped  T.TTs`.
pub fn file_line(run: &FileRun) -> String {
    let o = &run.outcome;
    format!(
        "{}  {}  {} passed  {} failed  {} skipped  {:.2}s",
        run.file.display(),
        run.combo,
        o.passed,
        o.failed,
        o.skipped,
        o.elapsed.as_secs_f64()
    )
}

/// A failed record in detail, for `--verbose`.
pub fn failure_details(run: &FileRun) -> String {
    let mut s = String::new();
    for f in &run.outcome.failures {
        let _ = writeln!(s, "FAIL {}:{} [{}]", run.file.display(), f.line, run.combo);
        for l in f.sql.lines() {
            let _ = writeln!(s, "  | {l}");
        }
        for l in f.reason.lines() {
            let _ = writeln!(s, "  {l}");
        }
    }
    s
}

/// The queries whose results differ between routes, for `--differential`.
pub fn difference_details(file: &std::path::Path, diffs: &[Difference]) -> String {
    difference_details_labeled(file, diffs, ("datafusion", "native"))
}

/// As [`difference_details`], naming the two sides (`Difference::datafusion`
/// is the first, `Difference::native` the second).
pub fn difference_details_labeled(
    file: &std::path::Path,
    diffs: &[Difference],
    labels: (&str, &str),
) -> String {
    let show = |r: &Result<Vec<String>, String>| match r {
        Ok(v) if v.len() > 12 => format!("{} … ({} values)", v[..12].join(" "), v.len()),
        Ok(v) => v.join(" "),
        Err(e) => format!("error: {e}"),
    };
    let mut s = String::new();
    for d in diffs {
        let _ = writeln!(s, "DIFF {}:{}", file.display(), d.line);
        for l in d.sql.lines() {
            let _ = writeln!(s, "  | {l}");
        }
        let _ = writeln!(s, "  {:<11} {}", format!("{}:", labels.0), show(&d.datafusion));
        let _ = writeln!(s, "  {:<11} {}", format!("{}:", labels.1), show(&d.native));
    }
    s
}

/// The final line: `N passed, N failed` over all records of all runs.
pub fn total_line(runs: &[FileRun]) -> String {
    let passed: u64 = runs.iter().map(|r| r.outcome.passed).sum();
    let failed: u64 = runs.iter().map(|r| r.outcome.failed).sum();
    format!("{passed} passed, {failed} failed")
}

/// A table with one row per file: its record count, passed/failed and time
/// for each combination, and the time ratio native / DataFusion (summed over
/// backends).
pub fn comparison_table(runs: &[FileRun], combos: &[Combo]) -> String {
    let mut by_file: BTreeMap<&PathBuf, BTreeMap<Combo, &FileRun>> = BTreeMap::new();
    for r in runs {
        by_file.entry(&r.file).or_default().insert(r.combo, r);
    }
    let mut header = vec!["file".to_string(), "records".to_string()];
    header.extend(combos.iter().map(|c| format!("{c} pass/fail time")));
    header.push("native/df".to_string());
    let mut rows = vec![header];
    for (file, per) in &by_file {
        let records = per.values().map(|r| r.outcome.passed + r.outcome.failed).max().unwrap_or(0);
        let mut row = vec![file.display().to_string(), records.to_string()];
        let mut time = BTreeMap::<Route, f64>::new();
        for c in combos {
            match per.get(c) {
                Some(r) => {
                    let o = &r.outcome;
                    let secs = o.elapsed.as_secs_f64();
                    *time.entry(c.route).or_default() += secs;
                    row.push(format!("{}/{} {:.2}s", o.passed, o.failed, secs));
                }
                None => row.push("-".into()),
            }
        }
        row.push(match (time.get(&Route::Native), time.get(&Route::DataFusion)) {
            (Some(n), Some(d)) if *d > 0.0 => format!("{:.2}", n / d),
            _ => "-".into(),
        });
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut s = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| if i == 0 { format!("{c:<w$}") } else { format!("{c:>w$}") })
            .collect();
        let _ = writeln!(s, "{}", cells.join(" | ").trim_end());
        if n == 0 {
            let _ = writeln!(
                s,
                "{}",
                widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-")
            );
        }
    }
    s
}

/// The JSON report: every run with its counts, time and failures (at most
/// `max_failures` each), the differences found, and the totals.
pub fn json_report(
    runs: &[FileRun],
    differences: &[(PathBuf, Vec<Difference>)],
    max_failures: usize,
) -> Value {
    let runs_json: Vec<Value> = runs
        .iter()
        .map(|r| {
            let o = &r.outcome;
            json!({
                "file": r.file.display().to_string(),
                "route": r.combo.route.name(),
                "backend": r.combo.backend.name(),
                "passed": o.passed,
                "failed": o.failed,
                "skipped": o.skipped,
                "seconds": o.elapsed.as_secs_f64(),
                "failures": o.failures.iter().take(max_failures).map(|f| json!({
                    "line": f.line,
                    "sql": f.sql,
                    "reason": f.reason,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let diffs: Vec<Value> = differences
        .iter()
        .flat_map(|(file, ds)| {
            ds.iter().map(move |d| {
                json!({
                    "file": file.display().to_string(),
                    "line": d.line,
                    "sql": d.sql,
                    "datafusion": d.datafusion.as_ref().map_err(|e| json!({"error": e})).map(|v| json!(v)).unwrap_or_else(|e| e),
                    "native": d.native.as_ref().map_err(|e| json!({"error": e})).map(|v| json!(v)).unwrap_or_else(|e| e),
                })
            })
        })
        .collect();
    let passed: u64 = runs.iter().map(|r| r.outcome.passed).sum();
    let failed: u64 = runs.iter().map(|r| r.outcome.failed).sum();
    json!({ "runs": runs_json, "differences": diffs, "passed": passed, "failed": failed })
}
