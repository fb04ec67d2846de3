//! The broker's users: `users.toml` in the data directory, one SCRAM verifier per user and
//! mechanism (salted and hashed; no password is ever written). `sluice users` edits the file;
//! the broker rereads it when its modification time changes, so adding a user needs no restart.
//!
//! ```toml
//! [alice.SCRAM-SHA-256]
//! salt = "…"             # base64
//! iterations = 8192
//! stored_key = "…"       # base64 H(HMAC(SaltedPassword, "Client Key"))
//! server_key = "…"       # base64 HMAC(SaltedPassword, "Server Key")
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use super::scram::{Mechanism, ScramCredential, DEFAULT_ITERATIONS};

pub const FILE_NAME: &str = "users.toml";

/// user → mechanism name ("SCRAM-SHA-256") → verifier.
pub type Table = BTreeMap<String, BTreeMap<String, ScramCredential>>;

#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a users file: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("user name {0:?} is empty or has characters other than letters, digits and . _ - @")]
    BadName(String),
    #[error("a password must not be empty")]
    EmptyPassword,
    #[error("no user {0:?}")]
    NoSuchUser(String),
}

/// Reads `users.toml` (an absent file is no users).
pub fn load(path: &Path) -> Result<Table, UsersError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Table::new()),
        Err(source) => {
            return Err(UsersError::Io {
                path: path.into(),
                source,
            })
        }
    };
    toml::from_str(&text).map_err(|e| UsersError::Parse {
        path: path.into(),
        message: e.message().to_string(),
    })
}

/// Writes the table atomically (a temporary file renamed over the old one), readable by the
/// owner only.
fn store(path: &Path, table: &Table) -> Result<(), UsersError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| UsersError::Io {
        path: path.into(),
        source,
    };
    let text = toml::to_string(table).map_err(|e| UsersError::Parse {
        path: path.into(),
        message: e.to_string(),
    })?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("toml.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

pub fn check_name(name: &str) -> Result<(), UsersError> {
    let ok =
        !name.is_empty() && name.len() <= 255 && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(UsersError::BadName(name.to_string()))
    }
}

/// Adds `name` (or replaces its password) with verifiers for every SCRAM mechanism.
pub fn add(path: &Path, name: &str, password: &str) -> Result<(), UsersError> {
    check_name(name)?;
    if password.is_empty() {
        return Err(UsersError::EmptyPassword);
    }
    let mut table = load(path)?;
    let credentials = Mechanism::ALL
        .into_iter()
        .map(|m| {
            (
                m.name().to_string(),
                ScramCredential::new(m, password, DEFAULT_ITERATIONS),
            )
        })
        .collect();
    table.insert(name.to_string(), credentials);
    store(path, &table)
}

pub fn delete(path: &Path, name: &str) -> Result<(), UsersError> {
    let mut table = load(path)?;
    if table.remove(name).is_none() {
        return Err(UsersError::NoSuchUser(name.to_string()));
    }
    store(path, &table)
}

pub fn list(path: &Path) -> Result<Vec<String>, UsersError> {
    Ok(load(path)?.into_keys().collect())
}

/// Changes the table in the file by `change`, which returns whether to write it back.
pub fn edit<T>(path: &Path, change: impl FnOnce(&mut Table) -> (T, bool)) -> Result<T, UsersError> {
    let mut table = load(path)?;
    let (out, changed) = change(&mut table);
    if changed {
        store(path, &table)?;
    }
    Ok(out)
}

/// The broker's view of `users.toml`, reread when the file changes.
pub struct Users {
    path: PathBuf,
    /// The broker's own edits (AlterUserScramCredentials), one at a time.
    edits: Mutex<()>,
    /// Why a lock: connections authenticate concurrently, and a reload swaps the table; the
    /// lock is held only to compare a timestamp and clone one credential.
    cache: Mutex<(Option<SystemTime>, Table)>,
}

impl Users {
    pub fn open(data_dir: &Path) -> Users {
        Users {
            path: data_dir.join(FILE_NAME),
            edits: Mutex::new(()),
            cache: Mutex::new((None, Table::new())),
        }
    }

    /// Every user and credential, from the file as it is now.
    pub fn table(&self) -> Result<Table, UsersError> {
        load(&self.path)
    }

    /// Changes the file (see [`edit`]); the broker's own edits do not interleave.
    pub fn edit<T>(&self, change: impl FnOnce(&mut Table) -> (T, bool)) -> Result<T, UsersError> {
        let _one_at_a_time = self.edits.lock().unwrap_or_else(|e| e.into_inner());
        edit(&self.path, change)
    }

    /// The user's verifier for `mechanism`, from the file as it is now.
    pub fn credential(&self, user: &str, mechanism: Mechanism) -> Option<ScramCredential> {
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.0 != modified || modified.is_none() {
            match load(&self.path) {
                Ok(table) => *cache = (modified, table),
                // Keep the last good table: a half-edited file must not lock everyone out.
                Err(e) => tracing::warn!(error = %e, "users file unreadable; keeping the users read before"),
            }
        }
        cache.1.get(user)?.get(mechanism.name()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Moves the file's modification time on, so a rewrite within one clock tick is still seen.
    fn touch_later(path: &Path) {
        let later = SystemTime::now() + std::time::Duration::from_secs(2);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(later)
            .unwrap();
    }

    #[test]
    fn users_are_added_listed_replaced_and_deleted_and_no_password_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        add(&path, "alice", "correct horse").unwrap();
        add(&path, "bob", "battery").unwrap();
        assert_eq!(list(&path).unwrap(), ["alice", "bob"]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("correct horse") && !text.contains("battery"));
        assert!(text.contains("SCRAM-SHA-256") && text.contains("SCRAM-SHA-512"));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);

        let users = Users::open(dir.path());
        let c = users.credential("alice", Mechanism::Sha256).unwrap();
        assert!(c.verifies(Mechanism::Sha256, "correct horse"));
        add(&path, "alice", "new password").unwrap();
        // The broker sees the new password without a restart.
        touch_later(&path);
        let c = users.credential("alice", Mechanism::Sha256).unwrap();
        assert!(c.verifies(Mechanism::Sha256, "new password"));

        delete(&path, "bob").unwrap();
        assert_eq!(list(&path).unwrap(), ["alice"]);
        assert!(matches!(delete(&path, "bob"), Err(UsersError::NoSuchUser(_))));
        assert!(matches!(add(&path, "a,b", "x"), Err(UsersError::BadName(_))));
        assert!(matches!(add(&path, "carol", ""), Err(UsersError::EmptyPassword)));
    }

    #[test]
    fn a_garbled_users_file_is_an_error_naming_it_and_the_broker_keeps_the_last_good_users() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        add(&path, "alice", "pw").unwrap();
        let users = Users::open(dir.path());
        assert!(users.credential("alice", Mechanism::Sha512).is_some());
        std::fs::write(&path, "alice = [").unwrap();
        touch_later(&path);
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("users.toml"), "{e}");
        assert!(users.credential("alice", Mechanism::Sha512).is_some());
    }
}
