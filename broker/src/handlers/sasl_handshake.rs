//! SaslHandshake: the client names a mechanism; the answer lists the enabled ones. Out of turn
//! (a listener without SASL, or a second handshake) is ILLEGAL_SASL_STATE; a mechanism not
//! enabled is UNSUPPORTED_SASL_MECHANISM; both close the connection after the answer, as Kafka does.

use kafka_protocol::messages::{SaslHandshakeRequest, SaslHandshakeResponse};

use super::str_bytes;
use crate::server::Session;
use crate::state::Broker;

/// The answer, and whether the connection closes after it.
pub fn handle(
    broker: &Broker,
    session: &mut Session,
    r: SaslHandshakeRequest,
    version: i16,
) -> (SaslHandshakeResponse, bool) {
    let enabled = &broker.config.sasl_mechanisms;
    let mut response = SaslHandshakeResponse::default();
    response.mechanisms = enabled.iter().map(|m| str_bytes(m.as_str())).collect();
    match session.sasl.handshake(r.mechanism.as_str(), enabled, version) {
        Ok(()) => (response, false),
        Err(code) => {
            tracing::warn!(peer = %session.peer, mechanism = %r.mechanism.as_str(), code, "SASL handshake refused");
            response.error_code = code;
            (response, true)
        }
    }
}
