//! The operations each command runs (as cargo's `ops`): a command in `cli/` parses its
//! arguments, calls one of these, renders the result and picks the exit code. They own the
//! pipeline — loading the config, selecting targets, connecting a session, reading, planning, the
//! saved-plan file, the safety gate, applying, importing, and for a change-scoped run BASE (a
//! path, or a git commit read with the `git` command line) — and report through typed errors and
//! events; they never print, prompt or look at the terminal.

pub mod adopt;
pub mod apply;
mod error;
mod git;
pub mod import;
pub mod init;
pub mod lock;
pub mod plan;
pub mod progress;
pub mod report;
pub mod saved;
pub mod scope;
pub mod session;
pub mod targets;

pub use error::{Error, TokenVariable};
pub use git::GitAction;
pub use scope::Base;
pub use session::{Endpoint, Session, connect, load};
pub use targets::{Targets, select};
