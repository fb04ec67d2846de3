//! How every sluice component logs what librdkafka reports, under the `librdkafka` target.
//!
//! librdkafka logs from its own threads for every connection attempt and state change. None of
//! that needs an operator: what matters reaches the component as a failed call or an error
//! callback, which the component logs at its own level. So librdkafka's debug, info and notice
//! lines go to TRACE and its warnings and errors to DEBUG (`RUST_LOG=librdkafka=debug` shows them).

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// A librdkafka log line at sluice's level for it.
pub fn log(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Debug | RDKafkaLogLevel::Info | RDKafkaLogLevel::Notice => {
            tracing::trace!(target: "librdkafka", "{facility} {message}")
        }
        _ => tracing::debug!(target: "librdkafka", "{facility} {message}"),
    }
}

/// Whether an error callback only says the cluster cannot be reached right now: librdkafka
/// reconnects by itself, and the component reports the outage once in its own terms.
pub fn is_unreachable(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure)
    )
}

/// The context of a client whose component reports an unreachable cluster itself, once (the lag
/// exporter with `up` = 0, the console on its page): librdkafka's per-attempt complaints about
/// it go to DEBUG, other errors to WARN, and its log lines as [`log`] says.
pub struct QuietContext;

impl ClientContext for QuietContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        log(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if is_unreachable(&error) {
            tracing::debug!(target: "librdkafka", "{error}: {reason}")
        } else {
            tracing::warn!(target: "librdkafka", "{error}: {reason}")
        }
    }
}

impl ConsumerContext for QuietContext {}
