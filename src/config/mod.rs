//! Config loading: YAML files → spanned tree → JSON Schema check → semantic checks → `model::Config`.
//! Every problem carries `file:line:col`. No network. (Being written.)

use std::path::Path;

use crate::model::{Config, SourceLoc};

/// One problem found in the config, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// Where (file, 1-based line and column).
    pub loc: SourceLoc,
    /// What is wrong, as one sentence.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.loc, self.message)
    }
}

/// Load and check the config at `path` (a file, or a directory of `*.yaml`/`*.yml`).
/// Returns every problem found, sorted by file and position.
pub fn load(_path: &Path) -> Result<Config, Vec<Diagnostic>> {
    todo!("config loader")
}

/// The JSON Schema of the config, pretty-printed with a trailing newline.
pub fn schema_json() -> String {
    todo!("schema")
}
