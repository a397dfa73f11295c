//! A channel token held so that it cannot be printed: `Debug` and `Display` show `***`. Reading
//! it from the environment names the variable, never the value.

use std::fmt;

/// Why a token could not be read from the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The variable is not set.
    #[error("the environment variable {var} is not set (it should hold the channel's API token)")]
    Unset {
        /// Variable name.
        var: String,
    },
    /// The variable is set but empty (or only whitespace).
    #[error("the environment variable {var} is empty (it should hold the channel's API token)")]
    Empty {
        /// Variable name.
        var: String,
    },
    /// The variable's value is not valid Unicode.
    #[error("the environment variable {var} is not valid UTF-8")]
    NotUnicode {
        /// Variable name.
        var: String,
    },
}

/// A token. Only [`Secret::expose`] gives the text, for the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a token (surrounding whitespace, e.g. a trailing newline from a file, is dropped).
    pub fn new(token: impl Into<String>) -> Secret {
        let token: String = token.into();
        Secret(token.trim().to_string())
    }

    /// The token in the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Secret, SecretError> {
        Self::from_lookup(var, std::env::var(var))
    }

    fn from_lookup(
        var: &str,
        value: Result<String, std::env::VarError>,
    ) -> Result<Secret, SecretError> {
        match value {
            Ok(v) if v.trim().is_empty() => Err(SecretError::Empty { var: var.into() }),
            Ok(v) => Ok(Secret::new(v)),
            Err(std::env::VarError::NotPresent) => Err(SecretError::Unset { var: var.into() }),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(SecretError::NotUnicode { var: var.into() })
            }
        }
    }

    /// The token itself. Only for the `Authorization` header and for scrubbing it from text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_its_value() {
        let s = Secret::new("tok-123\n");
        assert_eq!(format!("{s} {s:?} {:?}", Some(&s)), "*** *** Some(***)");
        assert_eq!(s.expose(), "tok-123");
    }

    #[test]
    fn from_env_names_the_variable_when_unset() {
        let err = Secret::from_env("CONTACTCTL_TEST_SURELY_UNSET_VAR").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the environment variable CONTACTCTL_TEST_SURELY_UNSET_VAR is not set (it should hold the channel's API token)"
        );
        let err = Secret::from_lookup("T", Ok(" \n".into())).unwrap_err();
        assert_eq!(err, SecretError::Empty { var: "T".into() });
        assert!(err.to_string().contains("T is empty"));
    }
}
