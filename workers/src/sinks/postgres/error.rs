//! Which failures are worth retrying, by SQLSTATE (PostgreSQL manual, appendix A, "PostgreSQL
//! Error Codes").

use tokio_postgres::error::SqlState;

use crate::sinks::SinkError;

/// Why a delivery failed, and what the sink does about it.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// This batch can never be written: the consumer dead-letters it.
    Reject(String),
    /// Worth retrying on the same connection (a deadlock, a serialization failure, a full disk).
    Retry(String),
    /// The connection is gone or going: reconnect on the next attempt.
    Reconnect(String),
    /// A table or column changed behind the sink's back: forget what it knows, then retry.
    Reload(String),
}

impl Failure {
    pub fn into_message(self) -> String {
        match self {
            Failure::Reject(m) | Failure::Retry(m) | Failure::Reconnect(m) | Failure::Reload(m) => m,
        }
    }

    pub fn from_postgres(e: &tokio_postgres::Error, doing: &str) -> Failure {
        let message = describe(e, doing);
        let Some(db) = e.as_db_error() else {
            // I/O, a closed connection, a protocol error, a timeout: the session is unusable.
            return Failure::Reconnect(message);
        };
        match verdict(db.code()) {
            Verdict::Reject => Failure::Reject(message),
            Verdict::Retry => Failure::Retry(message),
            Verdict::Reconnect => Failure::Reconnect(message),
            Verdict::Reload => Failure::Reload(message),
        }
    }
}

/// `doing: message [SQLSTATE code] (detail)` for a server error, `doing: error` otherwise.
pub fn describe(e: &tokio_postgres::Error, doing: &str) -> String {
    match e.as_db_error() {
        Some(db) => {
            let detail = db.detail().map(|d| format!(" ({d})")).unwrap_or_default();
            format!("{doing}: {} [SQLSTATE {}]{detail}", db.message(), db.code().code())
        }
        None => format!("{doing}: {e}"),
    }
}

impl From<Failure> for SinkError {
    fn from(f: Failure) -> SinkError {
        match f {
            Failure::Reject(m) => SinkError::Rejected(m),
            Failure::Retry(m) | Failure::Reconnect(m) | Failure::Reload(m) => SinkError::Transient(m),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Reject,
    Retry,
    Reconnect,
    Reload,
}

/// Classes 22 (data exception), 23 (integrity constraint violation), 42 (syntax error or
/// access rule violation: permission denied, a wrong column type), 54 (program limit: too
/// many columns), 0A (feature not supported) and 3F (invalid schema name) are about the batch
/// or the database's shape and will fail again. Connection exceptions and shutdowns mean a
/// new session. Everything else (40 transaction rollback, 53 insufficient resources, 55 object
/// not in prerequisite state, 57014 query canceled, 58 system error, XX internal error, and
/// whatever is unknown) is retried: a retry that keeps failing shows as consumer lag and
/// warnings, while a wrong rejection would dead-letter good data.
fn verdict(code: &SqlState) -> Verdict {
    if [
        SqlState::UNDEFINED_TABLE,
        SqlState::UNDEFINED_COLUMN,
        SqlState::DUPLICATE_TABLE,
        SqlState::DUPLICATE_COLUMN,
    ]
    .contains(code)
    {
        return Verdict::Reload;
    }
    if [
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::IDLE_SESSION_TIMEOUT,
    ]
    .contains(code)
    {
        return Verdict::Reconnect;
    }
    match code.code().get(..2) {
        Some("08") => Verdict::Reconnect,
        Some("22" | "23" | "42" | "54" | "0A" | "3F") => Verdict::Reject,
        _ => Verdict::Retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(code: &str) -> Verdict {
        verdict(&SqlState::from_code(code))
    }

    #[test]
    fn data_and_permission_errors_reject_the_batch() {
        assert_eq!(of("42501"), Verdict::Reject, "insufficient_privilege");
        assert_eq!(of("22021"), Verdict::Reject, "character_not_in_repertoire (a NUL)");
        assert_eq!(of("22003"), Verdict::Reject, "numeric_value_out_of_range");
        assert_eq!(of("23514"), Verdict::Reject, "check_violation");
        assert_eq!(of("42804"), Verdict::Reject, "datatype_mismatch");
        assert_eq!(of("54011"), Verdict::Reject, "too_many_columns");
        assert_eq!(of("3F000"), Verdict::Reject, "invalid_schema_name");
    }

    #[test]
    fn rollbacks_resources_and_unknown_codes_are_retried() {
        assert_eq!(of("40001"), Verdict::Retry, "serialization_failure");
        assert_eq!(of("40P01"), Verdict::Retry, "deadlock_detected");
        assert_eq!(of("53100"), Verdict::Retry, "disk_full");
        assert_eq!(of("55P03"), Verdict::Retry, "lock_not_available");
        assert_eq!(of("57014"), Verdict::Retry, "query_canceled");
        assert_eq!(of("XX000"), Verdict::Retry, "internal_error");
        assert_eq!(of("ZZ999"), Verdict::Retry, "unknown");
        assert_eq!(of("é"), Verdict::Retry, "not even a SQLSTATE");
    }

    #[test]
    fn lost_sessions_reconnect_and_a_changed_schema_is_reloaded() {
        assert_eq!(of("57P01"), Verdict::Reconnect, "admin_shutdown");
        assert_eq!(of("57P03"), Verdict::Reconnect, "cannot_connect_now");
        assert_eq!(of("08006"), Verdict::Reconnect, "connection_failure");
        assert_eq!(of("42P01"), Verdict::Reload, "undefined_table");
        assert_eq!(of("42703"), Verdict::Reload, "undefined_column");
    }
}
