//! SaslAuthenticate: one SASL token each way (docs/kafka-protocol.md#handshake-order). A failure is
//! answered with SASL_AUTHENTICATION_FAILED (58) and its message, then the connection is closed.

use bytes::Bytes;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslAuthenticateResponse};

use super::{str_bytes, Cx, HandleError, ThenClose};
use crate::auth::sasl::Step;

/// The answer, and the connection closed after it if authentication failed.
pub async fn handle(cx: &mut Cx<'_>, r: SaslAuthenticateRequest) -> ThenClose<SaslAuthenticateResponse> {
    let (broker, session) = (cx.broker, &mut *cx.session);
    let mut response = SaslAuthenticateResponse::default();
    match session.sasl.authenticate(&r.auth_bytes, &broker.users) {
        Step::Continue(token) => {
            response.auth_bytes = Bytes::from(token);
            if let Some(user) = session.sasl.principal() {
                tracing::debug!(peer = %session.peer, user, "authenticated");
            }
            ThenClose { response, close: None }
        }
        Step::Failed(message) => {
            let failure = session.sasl.failure_line(&r.auth_bytes, &message);
            response.error_code = 58;
            response.error_message = Some(str_bytes(message));
            ThenClose {
                response,
                close: Some(HandleError::Authentication(failure)),
            }
        }
    }
}
