//! AlterUserScramCredentials (KIP-554): adds, replaces and deletes users' SCRAM credentials in
//! `users.toml`, as `sluice users` does; the broker authenticates with them at once.
//! `kafka-configs --entity-type users --alter --add-config 'SCRAM-SHA-256=[password=…]'` sends
//! it: the client salts and hashes the password, so it never crosses the wire.
//!
//! Kafka's checks, per user (one error stops every change to that user; other users go on):
//! an unknown mechanism is UNSUPPORTED_SASL_MECHANISM; a bad name or an iteration count outside
//! 4096–16384 is UNACCEPTABLE_CREDENTIAL; one user and mechanism twice in a request is
//! DUPLICATE_RESOURCE; deleting what does not exist is RESOURCE_NOT_FOUND. It takes the right to
//! change the cluster (the admin grant).

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::auth::scram::{Mechanism, ScramCredential, MIN_ITERATIONS};
use crate::auth::users::{check_name, Table};

/// Kafka's largest iteration count for a stored credential (`ScramMechanism.maxIterations`).
const MAX_STORED_ITERATIONS: i32 = 16_384;

/// One change to one user's credentials.
enum Change {
    Delete(Mechanism),
    Upsert(Mechanism, ScramCredential),
}

type Refusal = (ResponseError, String);

pub async fn handle(cx: &Cx<'_>, request: AlterUserScramCredentialsRequest) -> AlterUserScramCredentialsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    // Users in the order they first appear, each with its changes or the first refusal.
    let mut order: Vec<String> = Vec::new();
    let mut changes: BTreeMap<String, Result<Vec<Change>, Refusal>> = BTreeMap::new();
    let mut seen: BTreeSet<(String, i8)> = BTreeSet::new();
    let mut add = |user: &str, mechanism: i8, change: Result<Change, Refusal>| {
        if !changes.contains_key(user) {
            order.push(user.to_string());
        }
        let entry = changes.entry(user.to_string()).or_insert_with(|| Ok(Vec::new()));
        let change = if seen.insert((user.to_string(), mechanism)) {
            change
        } else {
            Err((
                ResponseError::DuplicateResource,
                "A user credential cannot be altered twice in the same request".into(),
            ))
        };
        match (entry.as_mut(), change) {
            (Ok(list), Ok(c)) => list.push(c),
            (Ok(_), Err(refusal)) => *entry = Err(refusal),
            (Err(_), _) => {}
        }
    };
    for d in &request.deletions {
        add(&d.name, d.mechanism, mechanism(d.mechanism).map(Change::Delete));
    }
    for u in &request.upsertions {
        let change = mechanism(u.mechanism).and_then(|m| {
            if !(MIN_ITERATIONS as i32..=MAX_STORED_ITERATIONS).contains(&u.iterations) {
                return Err((
                    ResponseError::UnacceptableCredential,
                    format!(
                        "iterations must be from {MIN_ITERATIONS} to {MAX_STORED_ITERATIONS}, not {}",
                        u.iterations
                    ),
                ));
            }
            let credential = ScramCredential::from_salted_password(m, &u.salt, &u.salted_password, u.iterations as u32);
            Ok(Change::Upsert(m, credential))
        });
        add(&u.name, u.mechanism, change);
    }
    let allowed = access.allows(Operation::Alter, Resource::Cluster);
    for user in &order {
        if let Some(Ok(_)) = changes.get(user) {
            if let Err(e) = check_name(user) {
                changes.insert(
                    user.clone(),
                    Err((ResponseError::UnacceptableCredential, e.to_string())),
                );
            }
        }
    }
    let outcome = if allowed {
        broker.users.edit(|table| apply(table, &mut changes))
    } else {
        Ok(())
    };
    let mut response = AlterUserScramCredentialsResponse::default();
    for user in order {
        let mut r = AlterUserScramCredentialsResult::default();
        let result = if !allowed {
            Err((
                ResponseError::ClusterAuthorizationFailed,
                "not authorized to alter user credentials".into(),
            ))
        } else if let Err(e) = &outcome {
            tracing::warn!(error = %e, "AlterUserScramCredentials could not write the users file");
            Err((
                ResponseError::UnknownServerError,
                "the users file could not be written".into(),
            ))
        } else {
            changes.remove(&user).unwrap_or(Ok(Vec::new())).map(|_| ())
        };
        match result {
            Ok(()) => tracing::info!(user, "SCRAM credentials changed"),
            Err((code, message)) => {
                r.error_code = code.code();
                r.error_message = Some(str_bytes(message));
            }
        }
        r.user = str_bytes(user);
        response.results.push(r);
    }
    response
}

/// Applies every user's changes that passed the checks; a deletion of a credential the user
/// does not have refuses that user's changes. Returns whether the table changed.
fn apply(table: &mut Table, changes: &mut BTreeMap<String, Result<Vec<Change>, Refusal>>) -> ((), bool) {
    let mut changed = false;
    for (user, result) in changes.iter_mut() {
        let Ok(list) = result else { continue };
        let missing = list.iter().any(|c| match c {
            Change::Delete(m) => !table.get(user).is_some_and(|creds| creds.contains_key(m.name())),
            Change::Upsert(..) => false,
        });
        if missing {
            *result = Err((
                ResponseError::ResourceNotFound,
                "Attempt to delete a user credential that does not exist".into(),
            ));
            continue;
        }
        for change in list.drain(..) {
            match change {
                Change::Delete(m) => {
                    if let Some(creds) = table.get_mut(user) {
                        creds.remove(m.name());
                        if creds.is_empty() {
                            table.remove(user);
                        }
                    }
                }
                Change::Upsert(m, credential) => {
                    table
                        .entry(user.clone())
                        .or_default()
                        .insert(m.name().to_string(), credential);
                }
            }
            changed = true;
        }
    }
    ((), changed)
}

fn mechanism(t: i8) -> Result<Mechanism, Refusal> {
    Mechanism::from_kafka_type(t).ok_or((
        ResponseError::UnsupportedSaslMechanism,
        format!("unknown SCRAM mechanism {t} (1 is SCRAM-SHA-256, 2 SCRAM-SHA-512)"),
    ))
}
