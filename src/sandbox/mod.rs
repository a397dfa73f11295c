//! The sandbox: a stateful simulator of the Contacts API over real HTTP (axum on tokio), for
//! trying the tool (`contactctl sandbox`, `--sandbox`) and for tests. It behaves like the platform
//! of `CONTACTS_API_V1.md` and the vendor documents: the six calls under `/api/v1/...` with their
//! documented bodies, the limits (30 fields, 10 tags, the per-channel rate limit), the error
//! shapes, Viber's Base64 IDs; plus fault knobs and admin endpoints under `/_sandbox/`.
//!
//! Shares only the wire types (`crate::api::wire`) with the client, never its logic, so a bug in
//! one is not mirrored in the other. Does not parse command lines or print anything.

mod admin;
mod faults;
mod gate;
mod handlers;
mod limiter;
mod reply;
mod router;
mod shared;
mod state;
mod stats;
mod store;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use state::{ChannelState, Faults, RandomFaults, SandboxState, default_token, sample_contact};
pub use stats::{CallCounts, ChannelStats, Stats};

/// What went wrong loading a sandbox state file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// The file could not be read.
    #[error("{file}: cannot read the sandbox state: {reason}")]
    Read {
        /// The file as given.
        file: String,
        /// The OS's reason.
        reason: String,
    },
    /// The file is not YAML/JSON of the expected shape.
    #[error("{file}: invalid sandbox state: {reason}")]
    Parse {
        /// The file as given.
        file: String,
        /// The parser's reason, with its position.
        reason: String,
    },
    /// The file parses but makes no sense (duplicate tokens or IDs, a zero rate limit...).
    #[error("{file}: invalid sandbox state: {reason}")]
    Invalid {
        /// The file as given.
        file: String,
        /// What is wrong.
        reason: String,
    },
}

/// A running sandbox. Dropping it stops the server (without waiting); `shutdown` stops it and
/// waits for open connections to finish.
pub struct SandboxHandle {
    addr: SocketAddr,
    shared: Arc<shared::Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Binds `addr` (port 0 picks a free port), spawns the server on the current tokio runtime and
/// returns at once. Fails on a state `SandboxState::normalize` refuses (as `InvalidInput`) or a
/// port that cannot be bound.
pub async fn start(state: SandboxState, addr: SocketAddr) -> std::io::Result<SandboxHandle> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let shared = Arc::new(
        shared::Shared::new(state, local)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
    );
    let app = router::router(shared.clone());
    let listener = listener.tap_io(|tcp| {
        // Small JSON answers: do not let Nagle hold them back.
        let _ = tcp.set_nodelay(true);
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(SandboxHandle {
        addr: local,
        shared,
        stop: Some(stop),
        task: Some(task),
    })
}

impl SandboxHandle {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API root to configure as a channel's `base_url`: `http://127.0.0.1:PORT/api` (an
    /// unspecified listen address is shown as loopback, which reaches it).
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}/api", SocketAddr::new(ip, self.addr.port()))
    }

    /// The token of channel `channel`.
    pub fn token(&self, channel: &str) -> Option<String> {
        self.shared.token(channel)
    }

    /// The current channels and contacts (in creation order) and faults.
    pub fn snapshot(&self) -> SandboxState {
        self.shared.snapshot()
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Replaces the fault knobs; their counters restart from zero.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// Stops accepting connections, lets open ones finish, and waits for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // The server ends only when told to; an IO error while serving is not the caller's.
            let _ = task.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
