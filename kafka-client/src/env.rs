//! `${VAR}` in config files, as Telegraf expands them: before the file is parsed, so a secret
//! never has to be written into it.
//!
//! - `${NAME}` is the variable's value; a variable that is not set is an error, so a typo does
//!   not silently become an empty password.
//! - `${NAME:-default}` is `default` when NAME is unset or empty.
//! - Inside a double-quoted TOML string the value is escaped, so a password holding `"` or `\`
//!   arrives as it is. Inside a single-quoted string it must not hold `'` or a line break.
//! - Comments are left alone: a commented-out line never needs its variable.
//!
//! The values substituted are kept in [`Expanded`], whose [`Expanded::redact`] puts `${NAME}`
//! back in place of any of them in a message, so no error about the file can show a secret.

/// A file after expansion.
#[derive(Debug, Default)]
pub struct Expanded {
    pub text: String,
    /// `(name, value)` of every substitution, to redact messages with.
    values: Vec<(String, String)>,
}

/// Why a file could not be expanded; it names the line and the variable, never a value.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("line {line}: environment variable {name} is not set (write ${{{name}:-default}} for a default)")]
    Unset { line: usize, name: String },
    #[error("line {line}: `${{{text}` is not a variable reference; expected ${{NAME}} or ${{NAME:-default}} with NAME of letters, digits and _")]
    Malformed { line: usize, text: String },
    #[error("line {line}: the value of {name} holds {what}, which a {place} cannot; use a double-quoted string")]
    Unrepresentable {
        line: usize,
        name: String,
        what: &'static str,
        place: &'static str,
    },
}

/// Where in a TOML line the scanner is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Bare,
    Basic,
    Literal,
}

/// Expands every `${…}` of `text` outside comments, reading variables with `lookup`
/// (`std::env::var` in practice; tests pass their own).
pub fn expand_env(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Expanded, EnvError> {
    let mut out = Expanded {
        text: String::with_capacity(text.len()),
        values: Vec::new(),
    };
    for (index, line) in text.split_inclusive('\n').enumerate() {
        expand_line(line, index + 1, &lookup, &mut out)?;
    }
    Ok(out)
}

fn expand_line(
    line: &str,
    line_no: usize,
    lookup: &impl Fn(&str) -> Option<String>,
    out: &mut Expanded,
) -> Result<(), EnvError> {
    let mut place = Place::Bare;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '$' && rest[1..].starts_with('{') {
            let (name, value, used) = reference(&rest[2..], line_no, lookup)?;
            out.text.push_str(&encode(&value, place, &name, line_no)?);
            if !value.is_empty() {
                out.values.push((name, value));
            }
            rest = &rest[2 + used..];
            continue;
        }
        match (place, c) {
            (Place::Bare, '#') => {
                out.text.push_str(rest);
                return Ok(());
            }
            (Place::Bare, '"') => place = Place::Basic,
            (Place::Bare, '\'') => place = Place::Literal,
            (Place::Basic, '"') | (Place::Literal, '\'') => place = Place::Bare,
            (Place::Basic, '\\') => {
                // An escape: copy it and the character it escapes, so `\"` does not end the string.
                let escaped: String = rest.chars().take(2).collect();
                out.text.push_str(&escaped);
                rest = &rest[escaped.len()..];
                continue;
            }
            _ => {}
        }
        out.text.push(c);
        rest = &rest[c.len_utf8()..];
    }
    Ok(())
}

/// Reads `NAME}` or `NAME:-default}` at the start of `s`; returns the name, the value and how
/// many bytes of `s` the reference took.
fn reference(
    s: &str,
    line_no: usize,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<(String, String, usize), EnvError> {
    let malformed = || EnvError::Malformed {
        line: line_no,
        text: s.trim_end().chars().take(40).collect(),
    };
    let end = s.find('}').ok_or_else(malformed)?;
    let inner = &s[..end];
    let (name, default) = match inner.split_once(":-") {
        Some((n, d)) => (n, Some(d)),
        None => (inner, None),
    };
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(malformed());
    }
    let value = match (lookup(name), default) {
        (Some(v), Some(d)) if v.is_empty() => d.to_string(),
        (Some(v), _) => v,
        (None, Some(d)) => d.to_string(),
        (None, None) => {
            return Err(EnvError::Unset {
                line: line_no,
                name: name.to_string(),
            })
        }
    };
    Ok((name.to_string(), value, end + 1))
}

/// The value as it must be written where it lands.
fn encode(value: &str, place: Place, name: &str, line_no: usize) -> Result<String, EnvError> {
    let refuse = |what, place| EnvError::Unrepresentable {
        line: line_no,
        name: name.to_string(),
        what,
        place,
    };
    match place {
        Place::Basic => {
            let mut s = String::with_capacity(value.len());
            for c in value.chars() {
                match c {
                    '"' => s.push_str("\\\""),
                    '\\' => s.push_str("\\\\"),
                    c if c.is_control() => s.push_str(&format!("\\u{:04X}", c as u32)),
                    c => s.push(c),
                }
            }
            Ok(s)
        }
        Place::Literal if value.contains('\'') => Err(refuse("a single quote", "single-quoted string")),
        Place::Literal | Place::Bare if value.contains(['\n', '\r']) => Err(refuse(
            "a line break",
            if place == Place::Bare {
                "value outside quotes"
            } else {
                "single-quoted string"
            },
        )),
        _ => Ok(value.to_string()),
    }
}

impl Expanded {
    /// The same text with no expansion: for a file read without variables.
    pub fn plain(text: &str) -> Self {
        Expanded {
            text: text.to_string(),
            values: Vec::new(),
        }
    }

    /// `message` with `${NAME}` in place of every substituted value of four characters or more
    /// (shorter ones are too common to tell apart from the rest of a message).
    pub fn redact(&self, message: &str) -> String {
        let mut values: Vec<&(String, String)> = self.values.iter().filter(|(_, v)| v.chars().count() >= 4).collect();
        // Longest first, so a value that contains another is replaced whole.
        values.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        let mut message = message.to_string();
        for (name, value) in values {
            message = message.replace(value.as_str(), &format!("${{{name}}}"));
            // A value escaped for a TOML string can reach a message in that form too.
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            if escaped != *value {
                message = message.replace(&escaped, &format!("${{{name}}}"));
            }
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "PASSWORD" => Some("s3cr\"et\\pw".into()),
            "USER" => Some("agent".into()),
            "EMPTY" => Some(String::new()),
            "COUNT" => Some("4".into()),
            "QUOTE" => Some("it's".into()),
            "LINES" => Some("a\nb".into()),
            _ => None,
        }
    }

    #[test]
    fn a_variable_in_a_double_quoted_string_is_escaped_so_toml_reads_the_value_back_exactly() {
        let e = expand_env("sasl_password = \"${PASSWORD}\"\n", vars).unwrap();
        assert_eq!(e.text, "sasl_password = \"s3cr\\\"et\\\\pw\"\n");
        let table: toml::Table = toml::from_str(&e.text).unwrap();
        assert_eq!(table["sasl_password"].as_str(), Some("s3cr\"et\\pw"));
    }

    #[test]
    fn defaults_apply_when_a_variable_is_unset_or_empty() {
        let e = expand_env("a = \"${NOPE:-x}\"\nb = \"${EMPTY:-y}\"\nc = \"${USER:-z}\"", vars).unwrap();
        assert_eq!(e.text, "a = \"x\"\nb = \"y\"\nc = \"agent\"");
    }

    #[test]
    fn an_unset_variable_names_itself_and_its_line() {
        let err = expand_env("a = 1\nb = \"${MISSING}\"\n", vars).unwrap_err();
        assert_eq!(
            err,
            EnvError::Unset {
                line: 2,
                name: "MISSING".into()
            }
        );
        assert!(err
            .to_string()
            .contains("line 2: environment variable MISSING is not set"));
    }

    #[test]
    fn comments_and_escaped_quotes_are_not_expanded() {
        let text = "# sasl_password = \"${MISSING}\"\na = \"x # ${USER}\" # ${MISSING}\nb = \"\\\"${USER}\"\n";
        let e = expand_env(text, vars).unwrap();
        assert_eq!(
            e.text,
            "# sasl_password = \"${MISSING}\"\na = \"x # agent\" # ${MISSING}\nb = \"\\\"agent\"\n"
        );
    }

    #[test]
    fn a_bare_reference_becomes_a_toml_value() {
        let e = expand_env("instances = ${COUNT}\n", vars).unwrap();
        assert_eq!(e.text, "instances = 4\n");
    }

    #[test]
    fn values_a_single_quoted_or_bare_place_cannot_hold_are_refused_without_showing_them() {
        let err = expand_env("a = '${QUOTE}'", vars).unwrap_err();
        assert!(matches!(err, EnvError::Unrepresentable { .. }), "{err}");
        assert!(!err.to_string().contains("it's"));
        let err = expand_env("a = ${LINES}", vars).unwrap_err();
        assert!(err.to_string().contains("a line break"), "{err}");
        assert_eq!(expand_env("a = \"${LINES}\"", vars).unwrap().text, "a = \"a\\u000Ab\"");
    }

    #[test]
    fn malformed_references_are_errors() {
        for text in ["a = \"${}\"", "a = \"${1X}\"", "a = \"${OPEN\"", "a = \"${A-B}\""] {
            let err = expand_env(text, vars).unwrap_err();
            assert!(matches!(err, EnvError::Malformed { line: 1, .. }), "{text}: {err}");
        }
        // A dollar without a brace is text.
        assert_eq!(
            expand_env("a = \"$5 and $HOME\"", vars).unwrap().text,
            "a = \"$5 and $HOME\""
        );
    }

    #[test]
    fn redact_puts_the_reference_back_in_place_of_each_value() {
        let e = expand_env("p = \"${PASSWORD}\"\nu = \"${USER}\"\nn = ${COUNT}", vars).unwrap();
        let message = "invalid value \"s3cr\\\"et\\\\pw\" for agent, 4 times; raw s3cr\"et\\pw";
        assert_eq!(
            e.redact(message),
            "invalid value \"${PASSWORD}\" for ${USER}, 4 times; raw ${PASSWORD}"
        );
    }
}
