//! Runs every project `.slt` file under `slt/` on both routes and both
//! backends, each file × route × backend as a named trial
//! (`basic/join.slt::native::memory`). A trial fails on any failing record and
//! prints the failed records in detail.
//!
//! `cargo test -p llkv-slt --test project_slt` runs them; add a filter to run
//! some (`-- native::file`).

use libtest_mimic::{Arguments, Failed, Trial};
use llkv_slt::{Backend, Combo, DialectChoice, Route, discover, failure_details, run_file};
use std::path::Path;

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = match discover(&[root.to_path_buf()]) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot list {}: {e}", root.display());
            std::process::exit(2);
        }
    };
    let mut trials = Vec::new();
    for file in files {
        let name = file.strip_prefix(root).unwrap_or(&file).display().to_string();
        for route in Route::ALL {
            for backend in Backend::ALL {
                let file = file.clone();
                trials.push(Trial::test(format!("{name}::{route}::{backend}"), move || {
                    let run = run_file(&file, Combo { route, backend }, DialectChoice::Auto, false);
                    if run.outcome.failed == 0 {
                        Ok(())
                    } else {
                        Err(Failed::from(format!(
                            "{} of {} records failed\n{}",
                            run.outcome.failed,
                            run.outcome.failed + run.outcome.passed,
                            failure_details(&run)
                        )))
                    }
                }));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
