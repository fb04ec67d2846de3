//! The ACL bindings clients create (CreateAcls, `kafka-acls --add`) and delete (DeleteAcls),
//! kept in `<data-dir>/acls.json` and rewritten atomically on every change, so they survive a
//! restart or a crash as Kafka's survive in its metadata log. The bindings of broker.toml's
//! grants are not here: they are the config's (`auth::acl`).
//!
//! The file is a JSON list of bindings spelt with Kafka's names, e.g.
//! `{"resource_type": "TOPIC", "name": "metrics", "pattern_type": "LITERAL",
//! "principal": "User:*", "host": "*", "operation": "READ", "permission": "DENY"}`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use serde::{Deserialize, Serialize};

use super::topics::{read_json, RegistryError};
use crate::auth::acl::{
    code_of, name_of, Binding, NamePattern, OPERATIONS, PATTERN_TYPES, PERMISSIONS, PREFIXED, RESOURCE_TYPES,
};
use crate::log::write_atomically;

const FILE: &str = "acls.json";

#[derive(Serialize, Deserialize)]
struct Stored {
    resource_type: String,
    name: String,
    pattern_type: String,
    principal: String,
    host: String,
    operation: String,
    permission: String,
}

impl Stored {
    fn of(b: &Binding) -> Stored {
        let (name, pattern_type) = b.pattern.kafka();
        let spell = |table, code| name_of(table, code).unwrap_or("UNKNOWN").to_string();
        Stored {
            resource_type: spell(RESOURCE_TYPES, b.resource_type),
            name: name.to_string(),
            pattern_type: spell(PATTERN_TYPES, pattern_type),
            principal: b.principal.clone(),
            host: b.host.clone(),
            operation: spell(OPERATIONS, b.operation),
            permission: spell(PERMISSIONS, b.permission),
        }
    }

    fn binding(self) -> Result<Binding, String> {
        let code = |table, name: &str, what| code_of(table, name).ok_or(format!("unknown {what} `{name}`"));
        let pattern = match code(PATTERN_TYPES, &self.pattern_type, "pattern type")? {
            PREFIXED => NamePattern::Prefixed(self.name),
            _ => NamePattern::Literal(self.name),
        };
        Ok(Binding {
            resource_type: code(RESOURCE_TYPES, &self.resource_type, "resource type")?,
            pattern,
            principal: self.principal,
            host: self.host,
            operation: code(OPERATIONS, &self.operation, "operation")?,
            permission: code(PERMISSIONS, &self.permission, "permission")?,
        })
    }
}

/// The created bindings: read by every authorization check, changed one edit at a time.
pub struct AclStore {
    dir: PathBuf,
    bindings: RwLock<Vec<Binding>>,
    edits: Mutex<()>,
}

impl AclStore {
    /// Reads `acls.json` of `dir` (none yet is no bindings); a file that does not read stops
    /// start-up rather than dropping someone's DENY.
    pub fn open(dir: &Path) -> Result<AclStore, RegistryError> {
        let path = dir.join(FILE);
        let stored: Vec<Stored> = read_json(&path)?;
        let bindings = stored
            .into_iter()
            .map(Stored::binding)
            .collect::<Result<_, _>>()
            .map_err(|message| RegistryError::Corrupt { path, message })?;
        Ok(AclStore {
            dir: dir.to_path_buf(),
            bindings: RwLock::new(bindings),
            edits: Mutex::new(()),
        })
    }

    /// Runs `f` over the bindings as they are now.
    pub fn read<T>(&self, f: impl FnOnce(&[Binding]) -> T) -> T {
        f(&self.bindings.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Adds the bindings not there yet (Kafka ignores a duplicate) and stores the result.
    pub fn create(&self, new: &[Binding]) -> Result<(), RegistryError> {
        self.edit(|bindings| {
            for b in new {
                if !bindings.contains(b) {
                    bindings.push(b.clone());
                }
            }
        })
        .map(|_| ())
    }

    /// Removes every binding `doomed` picks, stores the result and returns the removed ones.
    pub fn delete(&self, doomed: impl Fn(&Binding) -> bool) -> Result<Vec<Binding>, RegistryError> {
        self.edit(|bindings| {
            let (gone, kept): (Vec<Binding>, Vec<Binding>) = bindings.drain(..).partition(|b| doomed(b));
            *bindings = kept;
            gone
        })
    }

    /// One change: made on a copy, stored, and only then seen by authorization checks.
    fn edit<T>(&self, change: impl FnOnce(&mut Vec<Binding>) -> T) -> Result<T, RegistryError> {
        let _one_at_a_time = self.edits.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = self.read(<[Binding]>::to_vec);
        let out = change(&mut next);
        next.sort();
        let stored: Vec<Stored> = next.iter().map(Stored::of).collect();
        let bytes = serde_json::to_vec_pretty(&stored).unwrap_or_default();
        write_atomically(&self.dir, FILE, &bytes)?;
        *self.bindings.write().unwrap_or_else(|e| e.into_inner()) = next;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::acl::{ALL, DENY, LITERAL, TOPIC};

    fn binding(name: &str, pattern_type: i8) -> Binding {
        Binding {
            resource_type: TOPIC,
            pattern: match pattern_type {
                LITERAL => NamePattern::Literal(name.into()),
                _ => NamePattern::Prefixed(name.into()),
            },
            principal: "User:*".into(),
            host: "*".into(),
            operation: ALL,
            permission: DENY,
        }
    }

    #[test]
    fn created_bindings_survive_a_reopen_and_deleted_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = AclStore::open(dir.path()).unwrap();
        let (a, b) = (binding("secret", LITERAL), binding("private-", PREFIXED));
        store.create(&[a.clone(), b.clone(), a.clone()]).unwrap();
        assert_eq!(store.read(<[Binding]>::len), 2);
        let reopened = AclStore::open(dir.path()).unwrap();
        assert_eq!(reopened.read(<[Binding]>::to_vec), vec![a.clone(), b.clone()]);
        let gone = reopened.delete(|x| x == &b).unwrap();
        assert_eq!(gone, vec![b]);
        assert_eq!(AclStore::open(dir.path()).unwrap().read(<[Binding]>::to_vec), vec![a]);
    }

    #[test]
    fn a_file_that_does_not_read_stops_start_up_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "[{\"resource_type\": \"TOPIC\"}]").unwrap();
        let err = AclStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("acls.json") && err.contains("missing field"), "{err}");
        let mut stored = Stored::of(&binding("x", LITERAL));
        stored.operation = "FLY".into();
        let text = serde_json::to_string(&[stored]).unwrap();
        std::fs::write(dir.path().join(FILE), text).unwrap();
        let err = AclStore::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("unknown operation `FLY`"), "{err}");
    }
}
