//! `contactctl`: keep a chat platform's contacts — field values and tags — in YAML under git, and
//! reconcile the platform with them (`plan`, `apply`), within the Contacts API's limits.
//!
//! Dependencies point one way: `cli → {config, api, plan, apply, render, sandbox} → model`.
//! `plan` and `model` are pure; IO (files, HTTP, terminal) lives at the edges.

pub mod api;
pub mod apply;
pub mod cli;
pub mod config;
pub mod import;
pub mod model;
pub mod ops;
pub mod plan;
pub mod read;
pub mod render;
pub mod sandbox;
#[cfg(test)]
mod testing;
