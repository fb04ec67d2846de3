//! One connection's SASL state (docs/kafka-protocol.md#handshake-order): ApiVersions and
//! SaslHandshake first, then SaslAuthenticate round trips until the client is authenticated;
//! nothing else is served before that, and a failure closes the connection after its answer.

use super::oauthbearer;
use super::scram::{Mechanism, ScramError, ServerFirst};
use super::users::Users;

/// Who a connection acts for once authenticated (Kafka's `User:<name>` principal).
pub const ANONYMOUS: &str = "ANONYMOUS";

#[derive(Debug)]
enum State {
    /// A SASL listener before SaslHandshake.
    AwaitingHandshake,
    /// Handshake done; the first token of `mechanism` is next.
    AwaitingToken(Chosen),
    /// SCRAM's first round trip done; the client's final message is next.
    ScramFinal(Box<ServerFirst>),
    /// An OAUTHBEARER token was refused and the error challenge sent, for this reason; the
    /// client's acknowledgement is next, and the exchange fails after it.
    OAuthRefused(String),
    Authenticated(String),
}

#[derive(Debug, Clone, Copy)]
enum Chosen {
    Plain,
    Scram(Mechanism),
    OAuthBearer,
}

/// A SaslHandshake or SaslAuthenticate outcome.
pub enum Step {
    /// Answer with these bytes and go on.
    Continue(Vec<u8>),
    /// Answer with this error message, then close the connection.
    Failed(String),
}

#[derive(Debug)]
pub struct SaslSession {
    state: State,
    /// SaslHandshake v0: the tokens come as bare frames, not SaslAuthenticate requests.
    raw_tokens: bool,
    /// The user the first token named, for the log line of a failure in a later round trip.
    claimed: Option<String>,
}

impl SaslSession {
    /// `sasl`: whether the listener requires SASL.
    pub fn new(sasl: bool) -> SaslSession {
        SaslSession {
            state: if sasl {
                State::AwaitingHandshake
            } else {
                State::Authenticated(ANONYMOUS.into())
            },
            raw_tokens: false,
            claimed: None,
        }
    }

    /// True while the next frame is a bare SASL token (after a v0 handshake).
    pub fn expects_raw_token(&self) -> bool {
        self.raw_tokens && !self.authenticated()
    }

    pub fn authenticated(&self) -> bool {
        matches!(self.state, State::Authenticated(_))
    }

    /// The authenticated user, `ANONYMOUS` on listeners without SASL; None before authentication.
    pub fn principal(&self) -> Option<&str> {
        match &self.state {
            State::Authenticated(user) => Some(user),
            _ => None,
        }
    }

    /// SaslHandshake: picks `mechanism` if it is enabled. Err is Kafka's error code to answer
    /// with (and close): ILLEGAL_SASL_STATE (34) out of turn, UNSUPPORTED_SASL_MECHANISM (33).
    pub fn handshake(&mut self, mechanism: &str, enabled: &[String], version: i16) -> Result<(), i16> {
        if !matches!(self.state, State::AwaitingHandshake) {
            return Err(34);
        }
        if !enabled.iter().any(|m| m == mechanism) {
            return Err(33);
        }
        let chosen = match Mechanism::from_name(mechanism) {
            Some(m) => Chosen::Scram(m),
            None if mechanism == "PLAIN" => Chosen::Plain,
            None if mechanism == oauthbearer::NAME => Chosen::OAuthBearer,
            None => return Err(33),
        };
        self.state = State::AwaitingToken(chosen);
        self.raw_tokens = version == 0;
        Ok(())
    }

    /// SaslAuthenticate: one client token in, the server's token (or a failure) out.
    pub fn authenticate(&mut self, token: &[u8], users: &Users) -> Step {
        let state = std::mem::replace(&mut self.state, State::AwaitingHandshake);
        if matches!(state, State::AwaitingToken(_)) {
            self.claimed = claimed_user(token);
        }
        match state {
            State::AwaitingToken(Chosen::Plain) => match plain(token, users) {
                Ok(user) => {
                    self.state = State::Authenticated(user);
                    Step::Continue(Vec::new())
                }
                Err(e) => Step::Failed(e),
            },
            State::AwaitingToken(Chosen::Scram(m)) => {
                match ServerFirst::start(m, token, |user| users.credential(user, m)) {
                    Ok(first) => {
                        let reply = first.message().to_vec();
                        self.state = State::ScramFinal(Box::new(first));
                        Step::Continue(reply)
                    }
                    Err(e) => Step::Failed(scram_failure(m, e)),
                }
            }
            State::ScramFinal(first) => {
                let m = first.mechanism();
                match first.finish(token) {
                    Ok((user, reply)) => {
                        self.state = State::Authenticated(user);
                        Step::Continue(reply)
                    }
                    Err(e) => Step::Failed(scram_failure(m, e)),
                }
            }
            State::AwaitingToken(Chosen::OAuthBearer) => match oauthbearer::validate(token, now_ms()) {
                Ok(principal) => {
                    self.state = State::Authenticated(principal);
                    Step::Continue(Vec::new())
                }
                Err(reason) => {
                    self.state = State::OAuthRefused(reason);
                    Step::Continue(oauthbearer::INVALID_TOKEN.as_bytes().to_vec())
                }
            },
            State::OAuthRefused(reason) => Step::Failed(format!(
                "Authentication failed with SASL mechanism OAUTHBEARER ({reason}): {}",
                oauthbearer::INVALID_TOKEN
            )),
            State::AwaitingHandshake | State::Authenticated(_) => {
                Step::Failed("SaslAuthenticate out of turn: SaslHandshake first, once per connection".into())
            }
        }
    }
}

impl SaslSession {
    /// The log line for a failed exchange: the user the client claimed (in this token or the
    /// first one of the exchange), never its password.
    pub fn failure_line(&self, token: &[u8], message: &str) -> String {
        let user = claimed_user(token)
            .or_else(|| self.claimed.clone())
            .unwrap_or_else(|| "?".into());
        format!("SASL authentication of user {user:?} failed: {message}")
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The user a client's first token names (SCRAM's `n=` or PLAIN's authcid).
fn claimed_user(token: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(token).ok()?;
    if let Some(rest) = text.split(",n=").nth(1) {
        return Some(rest.split(',').next()?.to_string());
    }
    let mut parts = text.split('\0');
    let _authzid = parts.next()?;
    parts.next().map(str::to_string)
}

fn scram_failure(m: Mechanism, e: ScramError) -> String {
    match e {
        // The same words for an unknown user and a wrong password.
        ScramError::BadCredentials(_) => format!(
            "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
            m.name()
        ),
        other => other.to_string(),
    }
}

/// SASL/PLAIN (RFC 4616): `[authzid] NUL authcid NUL password`, checked against the user's
/// SCRAM-SHA-256 verifier.
fn plain(token: &[u8], users: &Users) -> Result<String, String> {
    let failed = || "Authentication failed: Invalid username or password".to_string();
    let text = std::str::from_utf8(token).map_err(|_| "malformed PLAIN token: not UTF-8".to_string())?;
    let mut parts = text.split('\0');
    let (Some(authzid), Some(user), Some(password), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("malformed PLAIN token: expected authzid NUL user NUL password".into());
    };
    if user.is_empty() || password.is_empty() {
        return Err("malformed PLAIN token: empty user or password".into());
    }
    if !authzid.is_empty() && authzid != user {
        return Err(
            "Authentication failed: Client requested an authorization id that is different from username".into(),
        );
    }
    match users.credential(user, Mechanism::Sha256) {
        Some(c) if c.verifies(Mechanism::Sha256, password) => Ok(user.to_string()),
        _ => Err(failed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> (tempfile::TempDir, Users) {
        let dir = tempfile::tempdir().unwrap();
        super::super::users::add(&dir.path().join(super::super::users::FILE_NAME), "alice", "pw").unwrap();
        let users = Users::open(dir.path());
        (dir, users)
    }

    fn enabled() -> Vec<String> {
        vec!["PLAIN".into(), "SCRAM-SHA-256".into()]
    }

    #[test]
    fn plain_authenticates_with_the_password_and_fails_without_it() {
        let (_dir, users) = users();
        let mut s = SaslSession::new(true);
        assert!(!s.authenticated());
        s.handshake("PLAIN", &enabled(), 1).unwrap();
        assert!(matches!(s.authenticate(b"\0alice\0pw", &users), Step::Continue(_)));
        assert_eq!(s.principal(), Some("alice"));

        for token in [
            &b"\0alice\0wrong"[..],
            b"\0bob\0pw",
            b"bob\0alice\0pw",
            b"garbage",
            b"\0\0",
        ] {
            let mut s = SaslSession::new(true);
            s.handshake("PLAIN", &enabled(), 1).unwrap();
            assert!(matches!(s.authenticate(token, &users), Step::Failed(_)), "{token:?}");
            assert!(!s.authenticated());
        }
    }

    #[test]
    fn handshakes_out_of_turn_or_for_disabled_mechanisms_are_refused() {
        let mut s = SaslSession::new(true);
        assert_eq!(s.handshake("SCRAM-SHA-512", &enabled(), 1), Err(33));
        assert_eq!(s.handshake("GSSAPI", &enabled(), 1), Err(33));
        s.handshake("PLAIN", &enabled(), 1).unwrap();
        assert_eq!(s.handshake("PLAIN", &enabled(), 1), Err(34));
        let mut open = SaslSession::new(false);
        assert!(open.authenticated());
        assert_eq!(open.handshake("PLAIN", &enabled(), 1), Err(34));
        let (_dir, users) = users();
        let mut s = SaslSession::new(true);
        assert!(matches!(s.authenticate(b"\0alice\0pw", &users), Step::Failed(_)));
    }

    #[test]
    fn oauthbearer_authenticates_the_subject_or_challenges_then_fails() {
        use base64::Engine;
        let (_dir, users) = users();
        let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let exp = now_ms() / 1000 + 3600;
        let token = |exp: i64| {
            let claims = format!(r#"{{"sub":"carol","exp":{exp}}}"#);
            format!(
                "n,,\u{1}auth=Bearer {}.{}.\u{1}\u{1}",
                enc(r#"{"alg":"none"}"#),
                enc(&claims)
            )
        };
        let enabled = vec![oauthbearer::NAME.to_string()];
        let mut s = SaslSession::new(true);
        s.handshake(oauthbearer::NAME, &enabled, 1).unwrap();
        assert!(matches!(s.authenticate(token(exp).as_bytes(), &users), Step::Continue(r) if r.is_empty()));
        assert_eq!(s.principal(), Some("carol"));

        let mut s = SaslSession::new(true);
        s.handshake(oauthbearer::NAME, &enabled, 1).unwrap();
        let Step::Continue(challenge) = s.authenticate(token(exp - 7200).as_bytes(), &users) else {
            panic!("an expired token gets the error challenge first");
        };
        assert_eq!(challenge, oauthbearer::INVALID_TOKEN.as_bytes());
        let Step::Failed(message) = s.authenticate(b"\x01", &users) else {
            panic!("the exchange fails after the client's acknowledgement");
        };
        assert!(
            message.contains("invalid_token") && message.contains("expired"),
            "{message}"
        );
        assert!(!s.authenticated());
        // Not offered unless enabled.
        assert_eq!(
            SaslSession::new(true).handshake(oauthbearer::NAME, &self::enabled(), 1),
            Err(33)
        );
    }

    #[test]
    fn the_claimed_user_is_read_from_either_mechanism_and_never_the_password() {
        assert_eq!(claimed_user(b"n,,n=alice,r=x").as_deref(), Some("alice"));
        assert_eq!(claimed_user(b"\0bob\0secret").as_deref(), Some("bob"));
    }

    #[test]
    fn a_scram_failure_in_the_final_round_trip_is_logged_with_the_user_of_the_first() {
        let (_dir, users) = users();
        let mut s = SaslSession::new(true);
        s.handshake("SCRAM-SHA-256", &enabled(), 1).unwrap();
        assert!(matches!(
            s.authenticate(b"n,,n=alice,r=clientnonce", &users),
            Step::Continue(_)
        ));
        let last = b"c=biws,r=clientnonce-wrong,p=AAAA";
        let Step::Failed(message) = s.authenticate(last, &users) else {
            panic!("a forged final message authenticated");
        };
        let line = s.failure_line(last, &message);
        assert!(
            line.starts_with("SASL authentication of user \"alice\" failed: "),
            "{line}"
        );
    }
}
