//! Cancelling a running statement from another thread (the shell's Ctrl-C).
//!
//! A [`CancelFlag`] is shared between whoever may cancel (a signal-handling
//! thread) and an engine. The native route polls [`CancelFlag::check`] in its
//! executor loops; the DataFusion route awaits [`CancelFlag::cancelled`]
//! beside the statement and drops the statement's future when it fires.

use crate::error::{ErrorKind, SqlError, SqlResult};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// The message of a cancelled statement's error.
pub const CANCELLED: &str = "statement cancelled (interrupted)";

#[derive(Debug, Default)]
struct Inner {
    set: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

/// A shared "stop now" flag. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag {
    inner: Arc<Inner>,
}

impl CancelFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the running statement to stop.
    pub fn cancel(&self) {
        self.inner.set.store(true, Ordering::Release);
        let wakers = match self.inner.wakers.lock() {
            Ok(mut w) => std::mem::take(&mut *w),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for w in wakers {
            w.wake();
        }
    }

    /// Clears the flag (before the next statement starts).
    pub fn reset(&self) {
        self.inner.set.store(false, Ordering::Release);
    }

    /// Whether [`CancelFlag::cancel`] was called since the last reset.
    pub fn is_cancelled(&self) -> bool {
        self.inner.set.load(Ordering::Relaxed)
    }

    /// `Err` with [`ErrorKind::Cancelled`] once the flag is set.
    ///
    /// # Errors
    /// When the statement was cancelled.
    #[inline]
    pub fn check(&self) -> SqlResult<()> {
        if self.is_cancelled() { Err(cancelled()) } else { Ok(()) }
    }

    /// A future that completes when the flag is set.
    pub fn cancelled(&self) -> Cancelled {
        Cancelled { flag: self.clone() }
    }
}

/// The error of a cancelled statement.
pub fn cancelled() -> SqlError {
    SqlError::new(ErrorKind::Cancelled, CANCELLED)
}

/// The future of [`CancelFlag::cancelled`].
#[derive(Debug)]
pub struct Cancelled {
    flag: CancelFlag,
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.flag.is_cancelled() {
            return Poll::Ready(());
        }
        {
            let mut wakers = match self.flag.inner.wakers.lock() {
                Ok(w) => w,
                Err(poisoned) => poisoned.into_inner(),
            };
            // Re-polled on every wake of its task: register each task once.
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
        }
        // Set between the first check and the registration: do not miss it.
        if self.flag.is_cancelled() { Poll::Ready(()) } else { Poll::Pending }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_is_shared_by_clones_and_resets() {
        let a = CancelFlag::new();
        let b = a.clone();
        assert!(a.check().is_ok());
        b.cancel();
        let e = a.check().unwrap_err();
        assert_eq!(e.kind, ErrorKind::Cancelled);
        a.reset();
        assert!(!b.is_cancelled());
    }

    #[test]
    fn the_future_completes_when_cancelled_from_another_thread() {
        let flag = CancelFlag::new();
        let f = flag.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            f.cancel();
        });
        // A minimal executor: park until woken.
        let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = flag.cancelled();
        while Pin::new(&mut fut).poll(&mut cx).is_pending() {
            std::thread::park_timeout(std::time::Duration::from_secs(5));
        }
        t.join().unwrap();
    }

    struct ThreadWaker(std::thread::Thread);

    impl std::task::Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
}
