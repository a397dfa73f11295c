//! A cloneable cancellation signal for a run (Ctrl-C): once raised, clients refuse to start new
//! requests. Requests already on the wire finish. Knows nothing of signals or HTTP.

use tokio::sync::watch;

/// Raises the signal. Dropping it without calling [`CancelHandle::cancel`] never cancels.
#[derive(Debug)]
pub struct CancelHandle {
    tx: watch::Sender<bool>,
}

impl CancelHandle {
    /// Cancel: every [`Cancel`] of this pair reports it from now on.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }
}

/// Observes the signal; cheap to clone.
#[derive(Debug, Clone)]
pub struct Cancel {
    rx: watch::Receiver<bool>,
}

impl Cancel {
    /// A connected pair: the handle raises, the `Cancel` (and its clones) observe.
    pub fn new() -> (CancelHandle, Cancel) {
        let (tx, rx) = watch::channel(false);
        (CancelHandle { tx }, Cancel { rx })
    }

    /// A signal that is never raised.
    pub fn never() -> Cancel {
        Cancel::new().1
    }

    /// Whether the signal has been raised.
    pub fn is_cancelled(&self) -> bool {
        *self.rx.borrow()
    }

    /// Completes once the signal is raised; never, if its handle is dropped unraised.
    pub async fn cancelled(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|&c| c).await.is_err() {
            // the handle is gone without cancelling: nothing can cancel any more
            std::future::pending::<()>().await;
        }
    }
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel::never()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn clones_see_the_cancellation_and_waiters_wake() {
        let (handle, cancel) = Cancel::new();
        let clone = cancel.clone();
        assert!(!clone.is_cancelled());
        let waiter = tokio::spawn(async move { clone.cancelled().await });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!waiter.is_finished());
        handle.cancel();
        waiter.await.unwrap();
        assert!(cancel.is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_handle_never_cancels() {
        let cancel = Cancel::never();
        let timed_out = tokio::time::timeout(Duration::from_secs(5), cancel.cancelled()).await;
        assert!(timed_out.is_err());
        assert!(!cancel.is_cancelled());
    }
}
