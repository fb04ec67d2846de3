//! SaslAuthenticate: one SASL token each way (docs/kafka-protocol.md#handshake-order). A failure is
//! answered with SASL_AUTHENTICATION_FAILED (58) and its message, then the connection is closed.

use bytes::Bytes;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslAuthenticateResponse};

use super::str_bytes;
use crate::auth::sasl::Step;
use crate::server::Session;
use crate::state::Broker;

/// The answer, and the failure that closes the connection after it.
pub fn handle(
    broker: &Broker,
    session: &mut Session,
    r: SaslAuthenticateRequest,
) -> (SaslAuthenticateResponse, Option<String>) {
    let mut response = SaslAuthenticateResponse::default();
    match session.sasl.authenticate(&r.auth_bytes, &broker.users) {
        Step::Continue(token) => {
            response.auth_bytes = Bytes::from(token);
            if let Some(user) = session.sasl.principal() {
                tracing::debug!(peer = %session.peer, user, "authenticated");
            }
            (response, None)
        }
        Step::Failed(message) => {
            let failure = session.sasl.failure_line(&r.auth_bytes, &message);
            response.error_code = 58;
            response.error_message = Some(str_bytes(message));
            (response, Some(failure))
        }
    }
}
