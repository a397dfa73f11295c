//! The init operation: write a starter config for a newcomer — commented, valid, and working as
//! written against `contactctl sandbox --port 8080` — plus the JSON Schema its first line points
//! editors at. Never overwrites a config and never writes next to another one; knows nothing of
//! the config format beyond the text it writes (tests prove that text loads).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Error;
use crate::config;

/// The file written when the target is a directory.
const CONFIG_NAME: &str = "contactctl.yaml";
/// The schema written next to the config, named by the config's first line.
const SCHEMA_NAME: &str = "contactctl.schema.json";

/// The starter config. Its channels point at the sandbox's default port, with the token
/// variables the README's walk-through exports; its contacts exercise an update (the sandbox's
/// sample contact, found by key), a create, and a Viber channel.
pub const STARTER: &str = include_str!("starter.yaml");

/// Where the config goes: `path` itself, or `contactctl.yaml` inside it when it names a
/// directory (an existing one, or one written with a trailing slash).
fn config_path(path: &Path) -> PathBuf {
    let names_dir = path.as_os_str().to_string_lossy().ends_with(['/', '\\']) || path.is_dir();
    if names_dir {
        path.join(CONFIG_NAME)
    } else {
        path.to_path_buf()
    }
}

/// A config file already in `dir` (a directory config is every *.yaml/*.yml in it, so a new
/// file there would be merged with it).
fn existing_config_in(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && (n.ends_with(".yaml") || n.ends_with(".yml")))
        .collect();
    names.sort();
    names.into_iter().next()
}

/// What `init` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The config file.
    pub config: PathBuf,
    /// The JSON Schema beside it.
    pub schema: PathBuf,
}

/// Write the starter config (and its schema) at `path`; refuses when a config is there.
pub fn init(path: &Path) -> Result<Written, Error> {
    let target = config_path(path);
    // `None` for a bare file name: the current directory.
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = parent.unwrap_or(Path::new("."));
    if target.exists() {
        return Err(Error::ConfigExists { path: target });
    }
    if path.is_dir()
        && let Some(other) = existing_config_in(dir)
    {
        return Err(Error::DirectoryHasConfig {
            dir: dir.to_path_buf(),
            other,
        });
    }
    fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;

    // create_new: a file that appeared since the check above is not overwritten either.
    let mut file = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::ConfigExists { path: target });
        }
        Err(e) => return Err(Error::io("creating", target, e)),
    };
    file.write_all(STARTER.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| Error::io("writing", &target, e))?;

    // The schema is generated, so refreshing it is safe; it matches this binary's config format.
    let schema = parent.map_or(PathBuf::from(SCHEMA_NAME), |p| p.join(SCHEMA_NAME));
    fs::write(&schema, config::schema_json()).map_err(|e| Error::io("writing", &schema, e))?;
    Ok(Written {
        config: target,
        schema,
    })
}

/// Whether `config` is where a bare `contactctl plan` looks (so the suggested command needs no
/// path).
pub fn is_default_path(config: &Path) -> bool {
    config == Path::new(CONFIG_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_config_loads_and_points_at_the_sandbox() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        fs::write(&path, STARTER).unwrap();
        let config = config::load(&path).unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(config.contacts.len(), 3);
        assert_eq!(config.channels["web"].base_url, "http://127.0.0.1:8080/api");
        assert_eq!(config.channels["web"].token_env, "CONTACTS_WEB_TOKEN");
        assert_eq!(config.channels["viber"].token_env, "CONTACTS_VIBER_TOKEN");
        assert!(config.channels["viber"].viber);
        // the starter writes out the default limit: the two stay one figure
        assert_eq!(
            config.channels["web"].rate_limit,
            crate::model::DEFAULT_RATE_LIMIT
        );
        assert!(STARTER.starts_with("# yaml-language-server: $schema=contactctl.schema.json\n"));
    }

    #[test]
    fn the_commented_sources_option_reads_a_sheet_once_uncommented() {
        let dir = tempfile::tempdir().unwrap();
        let (before, block) = STARTER.split_once("# sources:").unwrap();
        let block = format!("# sources:{block}").replace("\n# ", "\n");
        let text = format!("{before}{}", block.strip_prefix("# ").unwrap());
        assert!(
            text.contains("\nsources:\n  - csv: lists/event-2026.csv"),
            "{text}"
        );
        fs::create_dir_all(dir.path().join("lists")).unwrap();
        fs::write(
            dir.path().join("lists/event-2026.csv"),
            "email,First Name,Tags,Notes\nrow@example.com,Row,VIP,hello\n",
        )
        .unwrap();
        let path = dir.path().join("contactctl.yaml");
        fs::write(&path, text).unwrap();
        let config = config::load(&path).unwrap_or_else(|d| panic!("{d:?}"));
        assert_eq!(config.contacts.len(), 4);
        let row = &config.contacts[3];
        assert_eq!(row.fields.get("firstName"), Some(&Some("Row".into())));
        assert_eq!(
            row.tags.as_ref().map(|t| t.len()),
            Some(2),
            "VIP and Blog Updates"
        );
    }

    #[test]
    fn init_writes_the_config_and_its_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contactctl.yaml");
        let written = init(&path).unwrap();
        assert_eq!(written.config, path);
        assert_eq!(written.schema, dir.path().join(SCHEMA_NAME));
        assert_eq!(fs::read_to_string(&path).unwrap(), STARTER);
        assert_eq!(
            fs::read_to_string(dir.path().join(SCHEMA_NAME)).unwrap(),
            config::schema_json()
        );
    }

    #[test]
    fn init_refuses_to_overwrite_and_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contactctl.yaml");
        fs::write(&path, "mine").unwrap();
        let err = init(&path).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "mine");
        assert!(!dir.path().join(SCHEMA_NAME).exists(), "nothing written");
    }

    #[test]
    fn init_into_a_directory_writes_contactctl_yaml_there() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("contacts/");
        init(&new).unwrap();
        assert!(dir.path().join("contacts/contactctl.yaml").is_file());
        assert!(config::load(&dir.path().join("contacts")).is_ok());
        // existing directory, without the slash: the same file, which now exists
        let err = init(&dir.path().join("contacts")).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
    }

    #[test]
    fn init_refuses_a_directory_that_already_holds_a_config() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("10-fields.yaml"), "fields: {}\n").unwrap();
        let err = init(dir.path()).unwrap_err().to_string();
        assert!(err.contains("10-fields.yaml"), "{err}");
        assert!(!dir.path().join(CONFIG_NAME).exists());
    }
}
