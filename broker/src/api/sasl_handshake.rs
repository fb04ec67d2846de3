//! SaslHandshake: the client names a mechanism; the answer lists the enabled ones. Out of turn
//! (a listener without SASL, or a second handshake) is ILLEGAL_SASL_STATE; a mechanism not
//! enabled is UNSUPPORTED_SASL_MECHANISM; both close the connection after the answer, as Kafka does.

use kafka_protocol::messages::{SaslHandshakeRequest, SaslHandshakeResponse};

use super::{str_bytes, Cx, HandleError, ThenClose};

/// The answer, and the connection closed after it if the handshake is refused.
pub async fn handle(cx: &mut Cx<'_>, r: SaslHandshakeRequest) -> ThenClose<SaslHandshakeResponse> {
    let (broker, version, session) = (cx.broker, cx.version, &mut *cx.session);
    let enabled = &broker.config.sasl_mechanisms;
    let mut response = SaslHandshakeResponse::default();
    response.mechanisms = enabled.iter().map(|m| str_bytes(m.as_str())).collect();
    match session.sasl.handshake(r.mechanism.as_str(), enabled, version) {
        Ok(()) => ThenClose { response, close: None },
        Err(code) => {
            tracing::warn!(peer = %session.peer, mechanism = %r.mechanism.as_str(), code, "SASL handshake refused");
            response.error_code = code;
            let close = HandleError::Authentication(format!(
                "SASL handshake for mechanism {:?} refused (enabled: {})",
                r.mechanism.as_str(),
                enabled.join(", ")
            ));
            ThenClose {
                response,
                close: Some(close),
            }
        }
    }
}
