//! DescribeUserScramCredentials (KIP-554): each user's SCRAM mechanisms and iteration counts
//! from `users.toml` (never a salt or a key). `kafka-configs --describe --entity-type users`
//! asks it. A user asked for twice is DUPLICATE_RESOURCE, one without credentials
//! RESOURCE_NOT_FOUND; it takes the right to describe the cluster (the admin grant).

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse};

use super::{str_bytes, Cx};
use crate::auth::acl::{Operation, Resource};
use crate::auth::scram::Mechanism;

pub async fn handle(cx: &Cx<'_>, request: DescribeUserScramCredentialsRequest) -> DescribeUserScramCredentialsResponse {
    let broker = cx.broker;
    let access = &cx.access();
    let mut response = DescribeUserScramCredentialsResponse::default();
    if !access.allows(Operation::Describe, Resource::Cluster) {
        response.error_code = ResponseError::ClusterAuthorizationFailed.code();
        response.error_message = Some(str_bytes("not authorized to describe user credentials"));
        return response;
    }
    let table = match broker.users.table() {
        Ok(table) => table,
        Err(e) => {
            tracing::warn!(error = %e, "DescribeUserScramCredentials could not read the users file");
            response.error_code = ResponseError::UnknownServerError.code();
            response.error_message = Some(str_bytes("the users file could not be read"));
            return response;
        }
    };
    let wanted: Vec<String> = match request.users.filter(|u| !u.is_empty()) {
        None => table.keys().cloned().collect(),
        Some(users) => users.into_iter().map(|u| u.name.to_string()).collect(),
    };
    let mut counted = BTreeSet::new();
    let duplicated: BTreeSet<&String> = wanted.iter().filter(|u| !counted.insert(*u)).collect();
    let mut answered = BTreeSet::new();
    for user in &wanted {
        if !answered.insert(user) {
            continue;
        }
        let mut r = DescribeUserScramCredentialsResult::default();
        r.user = str_bytes(user.clone());
        let error = if duplicated.contains(user) {
            Some((
                ResponseError::DuplicateResource,
                "Cannot describe SCRAM credentials for the same user twice in a single request",
            ))
        } else {
            match table.get(user) {
                Some(creds) if !creds.is_empty() => {
                    r.credential_infos = creds
                        .iter()
                        .filter_map(|(name, c)| {
                            let m = Mechanism::from_name(name)?;
                            let mut info = CredentialInfo::default();
                            info.mechanism = m.kafka_type();
                            info.iterations = c.iterations as i32;
                            Some(info)
                        })
                        .collect();
                    None
                }
                _ => Some((
                    ResponseError::ResourceNotFound,
                    "Attempt to describe a user credential that does not exist",
                )),
            }
        };
        if let Some((code, message)) = error {
            r.error_code = code.code();
            r.error_message = Some(str_bytes(message));
        }
        response.results.push(r);
    }
    response
}
