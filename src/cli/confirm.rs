//! Asking before apply: `yes` on a terminal, and a refusal (with what to do instead) when there
//! is no terminal to ask on.

use std::io::{BufRead, IsTerminal, Write};

use super::error::CommandError;
use crate::plan::Plan;

/// Ask whether to make the plan's calls; only `yes` goes on.
pub fn confirm(plan: &Plan) -> Result<(), CommandError> {
    if !std::io::stdin().is_terminal() {
        return Err(CommandError::refused(
            "refusing to apply without confirmation: standard input is not a terminal, and the plan above has changes; nothing was written",
        )
        .hint("pass --auto-approve to apply non-interactively, or save the reviewed plan with `contactctl plan --out FILE` and apply it with --plan FILE"));
    }
    let mut err = std::io::stderr();
    let _ = write!(
        err,
        "\nDo you want to make {}? Only 'yes' will be accepted: ",
        if plan.summary.api_calls == 1 {
            "this 1 API call".to_string()
        } else {
            format!("these {} API calls", plan.summary.api_calls)
        }
    );
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CommandError::new(format!("reading the answer: {e}")))?;
    if answer.trim() != "yes" {
        return Err(CommandError::refused(
            "apply cancelled; nothing was written",
        ));
    }
    Ok(())
}
