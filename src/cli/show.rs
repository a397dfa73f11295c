//! `contactctl show FILE`: print a plan saved with `plan --out`, in any `--format`, exactly as
//! `plan` printed it in that format — from the file alone: no config, no token, no API call (as
//! `terraform show PLANFILE`). A file of another format version, or not a plan, is refused.

use std::path::Path;

use super::error::CommandError;
use super::output::{Exit, Output};
use super::plan::print_plan;
use crate::ops;

pub fn run(file: &Path, out: &Output) -> Result<Exit, CommandError> {
    let saved = ops::saved::load(file).map_err(ops::Error::from)?;
    print_plan(&saved.plan, out)?;
    Ok(Exit::Ok)
}
