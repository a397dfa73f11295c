//! `contactctl sandbox`: serve the API simulator until Ctrl-C.

use std::net::SocketAddr;

use super::SandboxArgs;
use super::error::CommandError;
use super::output::{Exit, Output};
use crate::ops;
use crate::sandbox::{self, Faults, SandboxState};

/// Serve until interrupted; prints the base URL and where each channel's token comes from.
pub async fn run(args: SandboxArgs, out: &Output) -> Result<Exit, CommandError> {
    let mut state = match &args.state {
        Some(p) => SandboxState::from_file(p).map_err(ops::Error::from)?,
        None => SandboxState::demo(),
    };
    state.faults = Faults {
        fail_every: args.fail_every.or(state.faults.fail_every),
        drop_create_response_every: args
            .drop_create_every
            .or(state.faults.drop_create_response_every),
        throttle_every: args.throttle_every.or(state.faults.throttle_every),
        retry_after_secs: args.retry_after.or(state.faults.retry_after_secs),
        latency_ms: args.latency_ms.unwrap_or(state.faults.latency_ms),
        ..state.faults.clone()
    };
    let channels: Vec<(String, bool)> = state
        .channels
        .iter()
        .map(|(n, c)| (n.clone(), c.viber))
        .collect();
    let from = match &args.state {
        Some(p) => format!("as set in {}", p.display()),
        None => "sandbox-<channel>-token".to_string(),
    };
    let addr = SocketAddr::new(args.listen, args.port);
    let handle = sandbox::start(state, addr)
        .await
        .map_err(|source| ops::Error::SandboxStart {
            addr: addr.to_string(),
            source,
        })?;
    let mut ctrl_c = super::signals::Interrupts::ctrl_c()
        .map_err(|e| CommandError::new(format!("listening for Ctrl-C: {e}")))?;
    out.stdout(|w| {
        writeln!(
            w,
            "contactctl sandbox serving the Contacts API at {}",
            handle.base_url()
        )?;
        for (name, viber) in &channels {
            let kind = if *viber {
                " (Viber: Base64 IDs in paths)"
            } else {
                ""
            };
            writeln!(w, "  channel {name}{kind}")?;
        }
        // Tokens are named, never printed, like every token this tool handles.
        writeln!(w, "Tokens: {from}.")?;
        writeln!(w, "Press Ctrl-C to stop.")
    })?;
    ctrl_c.next().await;
    handle.shutdown().await;
    Ok(Exit::Ok)
}
