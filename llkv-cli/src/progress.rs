//! Progress on stderr, only when stderr is a terminal: a bar for `.import`
//! and a spinner with the elapsed time for statements running over a second.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a statement runs before its spinner appears.
pub const SPINNER_AFTER: Duration = Duration::from_secs(1);

/// A spinner shown while a statement runs longer than [`SPINNER_AFTER`].
pub struct StatementSpinner {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl StatementSpinner {
    /// Starts watching a statement; shows nothing unless `enabled`.
    pub fn start(enabled: bool) -> Self {
        if !enabled {
            return Self { stop: None, thread: None };
        }
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if rx.recv_timeout(SPINNER_AFTER) != Err(mpsc::RecvTimeoutError::Timeout) {
                return;
            }
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{spinner} running {elapsed} (Ctrl-C cancels)")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            let _ = rx.recv();
            bar.finish_and_clear();
        });
        Self { stop: Some(tx), thread: Some(thread) }
    }

    /// Removes the spinner (before the result is printed).
    pub fn finish(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for StatementSpinner {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// A bar for `.import` (hidden unless `enabled`): `total` rows, or bytes when `bytes`.
pub fn import_bar(enabled: bool, total: u64, bytes: bool, what: &str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let template = if bytes {
        "{msg} [{bar:30}] {bytes}/{total_bytes} {elapsed} (eta {eta})"
    } else {
        "{msg} [{bar:30}] {pos}/{len} rows {elapsed} (eta {eta})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
