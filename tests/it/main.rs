//! The one integration-test binary (as cargo's `tests/testsuite/main.rs`): every suite is a module
//! of it, and `support` the harness they share. One binary links the crate and its dependencies
//! once; each extra binary relinked them all, which was most of a CI run on two cores.

mod support;

mod api_client;
mod config_csv;
mod config_fixtures;
mod config_garbage;
mod config_load;
mod e2e_adopt;
mod e2e_csv;
mod e2e_import;
mod e2e_long_runs;
mod e2e_modes;
mod e2e_plan_apply;
mod e2e_report;
mod e2e_safety;
mod e2e_scale;
mod e2e_scope;
mod e2e_show;
mod ecosystem_ci;
mod ecosystem_cli;
mod ecosystem_color;
mod ecosystem_walkthrough;
mod fuzz_api_responses;
mod fuzz_config;
mod hardening_inputs;
mod hostile;
mod logs;
mod reliability_apply_run;
mod reliability_cli;
mod reliability_estimate;
mod reliability_gate;
mod reliability_interrupt;
mod reliability_progress;
mod reliability_random;
mod reliability_rate_limit;
mod sandbox_api;
mod sandbox_docs;
mod sandbox_faults;
mod schema;
mod secrets;
mod tidy;
