//! Loading a component's TOML file: `${VAR}` expanded, one error type that names the file, the
//! line, the table and the key, and no value from the environment in any message.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::env::{expand_env, EnvError, Expanded};

/// A configuration mistake.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// A TOML syntax error, a wrong type, a bad value or an unknown key, where the parser saw it.
    #[error("{}{location}: {message}", file_prefix(.path))]
    Parse {
        path: Option<PathBuf>,
        location: String,
        message: String,
    },
    /// A `${VAR}` that cannot be expanded.
    #[error("{}{source}", file_prefix(.path))]
    Env { path: Option<PathBuf>, source: EnvError },
    /// A value that has the right type but cannot work.
    #[error("{}`{key}` expects {expected}, got {got}", file_prefix(.path))]
    Invalid {
        path: Option<PathBuf>,
        key: String,
        expected: String,
        got: String,
    },
}

fn file_prefix(path: &Option<PathBuf>) -> String {
    path.as_ref().map(|p| format!("{}: ", p.display())).unwrap_or_default()
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, expected: impl Into<String>, got: impl Into<String>) -> Self {
        ConfigError::Invalid {
            path: None,
            key: key.into(),
            expected: expected.into(),
            got: got.into(),
        }
    }

    pub fn in_file(mut self, file: &Path) -> Self {
        if let ConfigError::Parse { path, .. } | ConfigError::Invalid { path, .. } | ConfigError::Env { path, .. } =
            &mut self
        {
            *path = Some(file.to_path_buf());
        }
        self
    }

    /// The same error with every value taken from the environment shown as `${VAR}` again.
    pub fn redacted(mut self, expanded: &Expanded) -> Self {
        match &mut self {
            ConfigError::Parse { message, .. } => *message = expanded.redact(message),
            ConfigError::Invalid { expected, got, .. } => {
                *expected = expanded.redact(expected);
                *got = expanded.redact(got);
            }
            ConfigError::Read { .. } | ConfigError::Env { .. } => {}
        }
        self
    }

    /// Turns toml's error into one line: `line 5, [agent] omit_hostname: invalid type: …`.
    /// serde names the key only for unknown keys, so the key and its table are read back from
    /// the text at the error's position.
    pub fn from_toml(e: &toml::de::Error, text: &str) -> Self {
        let message = e.message().trim().replace('\n', " ");
        let Some(span) = e.span() else {
            return ConfigError::Parse {
                path: None,
                location: "toml".into(),
                message,
            };
        };
        let start = span.start.min(text.len());
        let line_no = text[..start].matches('\n').count() + 1;
        let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
        let table = text[..start]
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| l.split('#').next().unwrap_or(l).trim().to_string());
        let key = line
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_string())
            .filter(|k| !k.is_empty() && !line.starts_with('['));
        let mut location = format!("line {line_no}");
        match (table, key) {
            (Some(t), Some(k)) => location += &format!(", {t} {k}"),
            (None, Some(k)) => location += &format!(", {k}"),
            (Some(_), None) if line.starts_with('[') => location += &format!(", {line}"),
            (Some(t), None) => location += &format!(", {t}"),
            (None, None) => {}
        }
        let message = if message.starts_with("unknown field") {
            format!("{message} (a setting sluice does not implement, or a misspelling)")
        } else {
            message
        };
        ConfigError::Parse {
            path: None,
            location,
            message,
        }
    }
}

/// Parses TOML text into `T`; errors say where, as [`ConfigError::from_toml`] does.
pub fn parse_toml<T: DeserializeOwned>(text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::from_toml(&e, text))
}

/// Reads `path`, expands `${VAR}` from the environment (outside comments, as Telegraf does),
/// parses it and runs `validate`. No error shows a value that came from the environment.
pub fn load_toml<T: DeserializeOwned>(
    path: &Path,
    validate: impl FnOnce(&T) -> Result<(), ConfigError>,
) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let expanded = expand_env(&text, |name| std::env::var(name).ok())
        .map_err(|source| ConfigError::Env { path: None, source }.in_file(path))?;
    let value: T = parse_toml(&expanded.text).map_err(|e| e.redacted(&expanded).in_file(path))?;
    validate(&value).map_err(|e| e.redacted(&expanded).in_file(path))?;
    Ok(value)
}

/// A human duration in a TOML file ("15s", "500ms", "1h"), for `deserialize_with`.
pub fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration {text:?} ({e}): expected a duration such as \"15s\" or \"500ms\""
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct File {
        name: String,
        count: u32,
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn a_bad_value_from_the_environment_is_reported_by_its_variable_not_its_value() {
        std::env::set_var("SLUICE_TEST_CONFIG_COUNT", "many-secrets");
        let f = write("name = \"x\"\ncount = \"${SLUICE_TEST_CONFIG_COUNT}\"\n");
        let e = load_toml::<File>(f.path(), |_| Ok(())).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}: line 2, count:", f.path().display())), "{e}");
        assert!(
            !e.contains("many-secrets") && e.contains("${SLUICE_TEST_CONFIG_COUNT}"),
            "{e}"
        );
    }

    #[test]
    fn validation_errors_are_redacted_and_name_the_file() {
        std::env::set_var("SLUICE_TEST_CONFIG_NAME", "hunter2-name");
        let f = write("name = \"${SLUICE_TEST_CONFIG_NAME}\"\ncount = 1\n");
        let e = load_toml::<File>(f.path(), |v| Err(ConfigError::invalid("name", "a short name", &v.name)))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "{}: `name` expects a short name, got ${{SLUICE_TEST_CONFIG_NAME}}",
                f.path().display()
            )
        );
    }

    #[test]
    fn an_unset_variable_and_an_unknown_key_name_file_and_line() {
        let f = write("name = \"${SLUICE_TEST_CONFIG_UNSET}\"\n");
        let e = load_toml::<File>(f.path(), |_| Ok(())).unwrap_err().to_string();
        assert!(
            e.contains("line 1: environment variable SLUICE_TEST_CONFIG_UNSET is not set"),
            "{e}"
        );
        let e = parse_toml::<File>("name = \"x\"\ncount = 1\n[extra]\nbogus = 2\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("line 3, [extra]"), "{e}");
        assert!(
            e.contains("(a setting sluice does not implement, or a misspelling)"),
            "{e}"
        );
    }
}
