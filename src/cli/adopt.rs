//! `contactctl adopt`: take the platform's values back into the config's files where they
//! drifted; render the diff and the summary; exit 1 when any contact was refused or could not
//! be read.

use super::AdoptArgs;
use super::error::CommandError;
use super::output::{Exit, Output};
use crate::ops;
use crate::render;

pub async fn run(args: AdoptArgs, out: &Output) -> Result<Exit, CommandError> {
    out.no_csv("adopt")?;
    let t = &args.target;
    let endpoint = t.endpoint.to_ops();
    let adoption = ops::adopt::run(ops::adopt::AdoptRequest {
        path: &t.path,
        channels: &t.channels,
        contacts: &t.contacts,
        endpoint: &endpoint,
        dry_run: args.dry_run,
        log: out.log(),
        before_rename: None,
    })
    .await?;
    out.stdout(|w| render::adopt::adoption(out.format, &adoption, w, out.color))?;
    // SPEC: exit 1 when any contact was refused, or the live state could not be read
    Ok(
        if adoption.refused() > 0 || adoption.unread > 0 || !adoption.orphans_unread.is_empty() {
            Exit::Error
        } else {
            Exit::Ok
        },
    )
}
