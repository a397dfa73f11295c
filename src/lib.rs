//! `contactctl`: keep a chat platform's contacts — field values and tags — in YAML and CSV under
//! git, and reconcile the platform with them (`plan`, `apply`), within the Contacts API's limits.
//!
//! Dependencies point one way:
//! `cli → ops → {read, apply, render, import, edit, sandbox} → {api, plan, config} → model`, and
//! `apply → read`. `plan` and `model` are pure; IO (files, HTTP, git, terminal) lives at the
//! edges. `tests/it/tidy.rs` holds the code to this, and README's design notes draw it.

pub mod api;
pub mod apply;
pub mod cli;
pub mod config;
pub mod edit;
pub mod import;
pub mod model;
pub mod ops;
pub mod plan;
pub mod read;
pub mod render;
pub mod sandbox;
#[cfg(test)]
mod testing;
