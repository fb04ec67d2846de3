//! Configuration mistakes, each reported once with the file, the line and the key.

use std::path::{Path, PathBuf};

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
    pub(crate) fn invalid(key: impl Into<String>, expected: impl Into<String>, got: impl Into<String>) -> Self {
        ConfigError::Invalid {
            path: None,
            key: key.into(),
            expected: expected.into(),
            got: got.into(),
        }
    }

    pub(crate) fn in_file(mut self, file: &Path) -> Self {
        if let ConfigError::Parse { path, .. } | ConfigError::Invalid { path, .. } = &mut self {
            *path = Some(file.to_path_buf());
        }
        self
    }

    /// Turns toml's error into one line: `line 5, [agent] omit_hostname: invalid type: …`.
    /// serde names the key only for unknown keys, so the key and its table are read back from
    /// the text at the error's position.
    pub(crate) fn from_toml(e: &toml::de::Error, text: &str) -> Self {
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
            format!("{message} (a Telegraf setting sluice does not implement, or a misspelling)")
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
