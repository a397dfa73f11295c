//! Ctrl-C and SIGTERM during apply: the first stops new calls (the run finishes the calls in
//! flight and reports), the second stops at once. Ctrl-C for commands that run until it
//! (`sandbox`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::output::Exit;
use crate::api::CancelHandle;

/// From now on, the first interrupt raises `interrupted` and cancels new requests; a second one
/// ends the process.
pub fn on_interrupt(interrupted: Arc<AtomicBool>, cancel: Arc<CancelHandle>) {
    tokio::spawn(async move {
        if interrupt_signal().await.is_err() {
            return;
        }
        interrupted.store(true, Ordering::SeqCst);
        cancel.cancel();
        eprintln!(
            "\nInterrupted: no new calls are started; finishing the calls in flight and reporting. Interrupt again to stop at once."
        );
        // The handler stays installed, so without this a second Ctrl-C would do nothing
        // while calls in flight wait out their timeout.
        if interrupt_signal().await.is_ok() {
            eprintln!(
                "Interrupted again: stopping now, without a report. Calls in flight may or may not have taken effect; run contactctl apply again (it looks contacts up before creating them)."
            );
            std::process::exit(Exit::Error as i32);
        }
    });
}

/// Ctrl-C (SIGINT) or, on Unix, SIGTERM: what CI runners send when a job is cancelled.
async fn interrupt_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        return tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        };
    }
    tokio::signal::ctrl_c().await
}

/// A Ctrl-C (SIGINT) listener registered now, before the caller says "press Ctrl-C": a Ctrl-C
/// sent at once is caught, where `tokio::signal::ctrl_c()` would only listen from its first poll
/// (and one arriving between its handler's install and its listening was lost: the process
/// then ran on).
pub fn listen_for_ctrl_c() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        Ok(async move {
            int.recv().await;
        })
    }
    #[cfg(not(unix))]
    {
        let mut int = tokio::signal::windows::ctrl_c()?;
        Ok(async move {
            int.recv().await;
        })
    }
}
