//! The operations each command runs (as cargo's `ops`): a command in `cli/` parses its
//! arguments, calls one of these, renders the result and picks the exit code.

pub mod import;
pub mod init;
pub mod plan;
pub mod saved;
pub mod session;
pub mod targets;
