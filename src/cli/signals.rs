//! Ctrl-C and SIGTERM during apply: the first stops new calls (the run finishes the calls in
//! flight and reports), the second stops at once. Ctrl-C for commands that run until it
//! (`sandbox`). Every listener is registered when it is made, not when first awaited.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::output::Exit;
use crate::api::CancelHandle;

/// From now on, the first interrupt raises `interrupted` and cancels new requests; a second one
/// ends the process.
pub fn on_interrupt(interrupted: Arc<AtomicBool>, cancel: Arc<CancelHandle>) {
    let Ok(mut interrupts) = Interrupts::ctrl_c_or_term() else {
        return;
    };
    tokio::spawn(async move {
        if !interrupts.next().await {
            return;
        }
        interrupted.store(true, Ordering::SeqCst);
        cancel.cancel();
        eprintln!(
            "\nInterrupted: no new calls are started; finishing the calls in flight and reporting. Interrupt again to stop at once."
        );
        // The handler stays installed, so without this a second Ctrl-C would do nothing
        // while calls in flight wait out their timeout.
        if interrupts.next().await {
            eprintln!(
                "Interrupted again: stopping now, without a report. Calls in flight may or may not have taken effect; run contactctl apply again (it looks contacts up before creating them)."
            );
            std::process::exit(Exit::Error as i32);
        }
    });
}

/// Interrupt signals, listened for from the moment this is made: a signal sent as soon as the
/// caller says "press Ctrl-C" (or starts writing) is caught. `tokio::signal::ctrl_c()` listens
/// only from its first poll, and a signal between its handler's install and its listening was
/// lost: the process then ran on.
pub struct Interrupts {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    /// SIGTERM too, when asked for and it could be listened for.
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(not(unix))]
    int: tokio::signal::windows::CtrlC,
}

impl Interrupts {
    /// Ctrl-C (SIGINT) alone.
    pub fn ctrl_c() -> std::io::Result<Interrupts> {
        Interrupts::listen(false)
    }

    /// Ctrl-C or, on Unix, SIGTERM: what CI runners send when a job is cancelled.
    pub fn ctrl_c_or_term() -> std::io::Result<Interrupts> {
        Interrupts::listen(true)
    }

    #[cfg(unix)]
    fn listen(term: bool) -> std::io::Result<Interrupts> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Interrupts {
            int: signal(SignalKind::interrupt())?,
            term: term.then(|| signal(SignalKind::terminate()).ok()).flatten(),
        })
    }

    #[cfg(not(unix))]
    fn listen(_term: bool) -> std::io::Result<Interrupts> {
        Ok(Interrupts {
            int: tokio::signal::windows::ctrl_c()?,
        })
    }

    /// The next interrupt; `false` when no more can come.
    pub async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            let Interrupts { int, term } = self;
            match term {
                Some(term) => tokio::select! {
                    r = int.recv() => r.is_some(),
                    r = term.recv() => r.is_some(),
                },
                None => int.recv().await.is_some(),
            }
        }
        #[cfg(not(unix))]
        {
            self.int.recv().await.is_some()
        }
    }
}
