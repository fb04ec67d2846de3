//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka runs them: no channel binding
//! (`n,,`), the `tokenauth` extension refused (no delegation tokens here), 4,096 iterations at
//! least (clients refuse fewer than 4,096 and more than 1,000,000:
//! docs/kafka-protocol.md#scram-iteration-bounds).
//!
//! What is stored per user is RFC 5802's `StoredKey` and `ServerKey` with the salt and iteration
//! count, never the password: `SaltedPassword = PBKDF2(password, salt, i)`,
//! `StoredKey = H(HMAC(SaltedPassword, "Client Key"))`, `ServerKey = HMAC(SaltedPassword, "Server Key")`.
//!
//! The exchange, one SaslAuthenticate round trip per message:
//!
//! ```text
//! client-first  n,,n=<user>,r=<client nonce>
//! server-first  r=<client nonce><server nonce>,s=<base64 salt>,i=<iterations>
//! client-final  c=biws,r=<nonce>,p=<base64 ClientKey XOR HMAC(StoredKey, AuthMessage)>
//! server-final  v=<base64 HMAC(ServerKey, AuthMessage)>
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac, pbkdf2};
use serde::{Deserialize, Serialize};

/// Kafka's default and the least clients accept.
pub const DEFAULT_ITERATIONS: u32 = 8192;
pub const MIN_ITERATIONS: u32 = 4096;
pub const MAX_ITERATIONS: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Sha256,
    Sha512,
}

impl Mechanism {
    pub const ALL: [Mechanism; 2] = [Mechanism::Sha256, Mechanism::Sha512];

    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Sha256 => "SCRAM-SHA-256",
            Mechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Kafka's number for the mechanism in the SCRAM credential APIs (KIP-554).
    pub fn kafka_type(self) -> i8 {
        match self {
            Mechanism::Sha256 => 1,
            Mechanism::Sha512 => 2,
        }
    }

    pub fn from_kafka_type(t: i8) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.kafka_type() == t)
    }

    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            Mechanism::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            Mechanism::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            Mechanism::Sha256 => hmac::HMAC_SHA256,
            Mechanism::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Mechanism::Sha256 => &digest::SHA256,
            Mechanism::Sha512 => &digest::SHA512,
        }
    }

    fn len(self) -> usize {
        self.digest().output_len()
    }
}

/// One user's verifier for one mechanism: what the broker keeps instead of the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramCredential {
    pub salt: String,
    pub iterations: u32,
    pub stored_key: String,
    pub server_key: String,
}

impl ScramCredential {
    /// Salts and hashes `password` with a fresh random salt.
    pub fn new(mechanism: Mechanism, password: &str, iterations: u32) -> ScramCredential {
        let salt: [u8; 32] = random_bytes();
        ScramCredential::with_salt(mechanism, password, &salt, iterations)
    }

    fn with_salt(mechanism: Mechanism, password: &str, salt: &[u8], iterations: u32) -> ScramCredential {
        let salted = salted_password(mechanism, password, salt, iterations);
        ScramCredential::from_salted_password(mechanism, salt, &salted, iterations)
    }

    /// From a password salted and hashed elsewhere: AlterUserScramCredentials carries that,
    /// never the password itself (KIP-554).
    pub fn from_salted_password(mechanism: Mechanism, salt: &[u8], salted: &[u8], iterations: u32) -> ScramCredential {
        let client_key = hmac_of(mechanism, salted, b"Client Key");
        let stored_key = digest::digest(mechanism.digest(), &client_key);
        let server_key = hmac_of(mechanism, salted, b"Server Key");
        ScramCredential {
            salt: B64.encode(salt),
            iterations,
            stored_key: B64.encode(stored_key.as_ref()),
            server_key: B64.encode(server_key),
        }
    }

    /// True when `password` is the one this credential was made from (SASL/PLAIN checks
    /// passwords this way, so no plain password is ever stored).
    pub fn verifies(&self, mechanism: Mechanism, password: &str) -> bool {
        let Ok(salt) = B64.decode(&self.salt) else {
            return false;
        };
        let fresh = ScramCredential::with_salt(mechanism, password, &salt, self.iterations);
        same(fresh.stored_key.as_bytes(), self.stored_key.as_bytes())
    }
}

/// Compares secrets in time that depends on their length only, never on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn salted_password(mechanism: Mechanism, password: &str, salt: &[u8], iterations: u32) -> Vec<u8> {
    let mut out = vec![0u8; mechanism.len()];
    let rounds = std::num::NonZeroU32::new(iterations).unwrap_or(std::num::NonZeroU32::MIN);
    pbkdf2::derive(mechanism.pbkdf2(), rounds, salt, password.as_bytes(), &mut out);
    out
}

fn hmac_of(mechanism: Mechanism, key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(mechanism.hmac(), key);
    hmac::sign(&key, data).as_ref().to_vec()
}

/// Why an exchange failed; the message goes back to the client in SaslAuthenticate's
/// `error_message` and must not say which of user or password was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("malformed SCRAM message: {0}")]
    Malformed(&'static str),
    #[error("authentication failed: invalid credentials with SASL mechanism {0}")]
    BadCredentials(&'static str),
    #[error("SCRAM extension {0} is not supported")]
    Extension(String),
}

/// The server's side of one exchange, between the client's first and final messages.
#[derive(Debug)]
pub struct ServerFirst {
    mechanism: Mechanism,
    user: String,
    /// None for an unknown user: the exchange goes on with a made-up salt and fails at the
    /// end, so a client cannot tell unknown users from wrong passwords.
    credential: Option<ScramCredential>,
    nonce: String,
    client_first_bare: String,
    server_first: String,
}

impl ServerFirst {
    /// Reads the client's first message and answers it. `lookup` finds the user's credential.
    pub fn start(
        mechanism: Mechanism,
        client_first: &[u8],
        lookup: impl FnOnce(&str) -> Option<ScramCredential>,
    ) -> Result<ServerFirst, ScramError> {
        let text = std::str::from_utf8(client_first).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        // gs2-header: no channel binding ("n") or "client supports it but thinks we don't" ("y");
        // an authorization identity, if any, must be the user itself.
        let rest = text
            .strip_prefix("n,")
            .or_else(|| text.strip_prefix("y,"))
            .ok_or(ScramError::Malformed("channel binding is not supported"))?;
        let (authzid, bare) = rest.split_once(',').ok_or(ScramError::Malformed("no gs2 header"))?;
        let mut user = None;
        let mut client_nonce = None;
        for attr in bare.split(',') {
            match attr.split_once('=') {
                Some(("n", v)) => user = Some(unescape_name(v)?),
                Some(("r", v)) => client_nonce = Some(v.to_string()),
                Some(("m", _)) => return Err(ScramError::Malformed("mandatory extension")),
                Some((k, _)) if k.len() > 1 => return Err(ScramError::Extension(k.to_string())),
                _ => {}
            }
        }
        let user = user.ok_or(ScramError::Malformed("no user name"))?;
        let client_nonce = client_nonce
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_graphic() && c != ','))
            .ok_or(ScramError::Malformed("no client nonce"))?;
        if let Some(z) = authzid.strip_prefix("a=") {
            if unescape_name(z)? != user {
                return Err(ScramError::BadCredentials(mechanism.name()));
            }
        }
        let credential = lookup(&user);
        let (salt, iterations) = match &credential {
            Some(c) => (c.salt.clone(), c.iterations),
            None => (B64.encode(random_bytes::<16>()), DEFAULT_ITERATIONS),
        };
        let nonce = format!("{client_nonce}{}", B64.encode(random_bytes::<18>()));
        let server_first = format!("r={nonce},s={salt},i={iterations}");
        Ok(ServerFirst {
            mechanism,
            user,
            credential,
            nonce,
            client_first_bare: bare.to_string(),
            server_first,
        })
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    pub fn message(&self) -> &[u8] {
        self.server_first.as_bytes()
    }

    /// Checks the client's proof. On success returns the user and the server's final message.
    pub fn finish(self, client_final: &[u8]) -> Result<(String, Vec<u8>), ScramError> {
        let failed = ScramError::BadCredentials(self.mechanism.name());
        let text = std::str::from_utf8(client_final).map_err(|_| ScramError::Malformed("not UTF-8"))?;
        let (without_proof, proof) = text.rsplit_once(",p=").ok_or(ScramError::Malformed("no proof"))?;
        let mut binding = None;
        let mut nonce = None;
        for attr in without_proof.split(',') {
            match attr.split_once('=') {
                Some(("c", v)) => binding = Some(v),
                Some(("r", v)) => nonce = Some(v),
                _ => {}
            }
        }
        // "biws" is base64 of "n,,"; "eSws" of "y,,". Anything else binds a channel we lack.
        if !matches!(binding, Some("biws" | "eSws")) {
            return Err(ScramError::Malformed("unexpected channel binding"));
        }
        // Kafka accepts a final nonce that *ends with* the combined nonce, because librdkafka
        // sends its own nonce again in front of it (`c=biws,r=<client nonce><combined nonce>`).
        if !nonce.is_some_and(|n| n.ends_with(self.nonce.as_str())) {
            return Err(ScramError::Malformed("nonce mismatch"));
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| ScramError::Malformed("proof is not base64"))?;
        let credential = self.credential.ok_or(failed.clone())?;
        let stored_key = B64.decode(&credential.stored_key).map_err(|_| failed.clone())?;
        let server_key = B64.decode(&credential.server_key).map_err(|_| failed.clone())?;
        if proof.len() != stored_key.len() {
            return Err(failed);
        }
        let auth_message = format!("{},{},{without_proof}", self.client_first_bare, self.server_first);
        let signature = hmac_of(self.mechanism, &stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        let derived = digest::digest(self.mechanism.digest(), &client_key);
        if !same(derived.as_ref(), &stored_key) {
            return Err(failed);
        }
        let server_signature = hmac_of(self.mechanism, &server_key, auth_message.as_bytes());
        Ok((self.user, format!("v={}", B64.encode(server_signature)).into_bytes()))
    }
}

/// `=2C` is ',' and `=3D` is '=' in SCRAM names (RFC 5802 §5.1); any other '=' is an error.
fn unescape_name(s: &str) -> Result<String, ScramError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(ScramError::Malformed("bad escape in user name")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Bytes from the operating system's generator. It fails only where the OS has none, and then
/// no salt or nonce can be made safely, so the broker stops rather than go on without one.
#[allow(clippy::expect_used)]
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    SystemRandom::new().fill(&mut b).expect("the OS random generator works");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The client's side, written from RFC 5802 §3, to drive the server in tests.
    fn client_final(
        mechanism: Mechanism,
        password: &str,
        client_first_bare: &str,
        server_first: &str,
    ) -> (String, Vec<u8>) {
        let mut nonce = "";
        let mut salt = "";
        let mut iterations = 0;
        for attr in server_first.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = v,
                Some(("s", v)) => salt = v,
                Some(("i", v)) => iterations = v.parse().unwrap(),
                _ => {}
            }
        }
        let salted = salted_password(mechanism, password, &B64.decode(salt).unwrap(), iterations);
        let client_key = hmac_of(mechanism, &salted, b"Client Key");
        let stored_key = digest::digest(mechanism.digest(), &client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth = format!("{client_first_bare},{server_first},{without_proof}");
        let signature = hmac_of(mechanism, stored_key.as_ref(), auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(k, s)| k ^ s).collect();
        let server_key = hmac_of(mechanism, &salted, b"Server Key");
        let expected_server_final = format!("v={}", B64.encode(hmac_of(mechanism, &server_key, auth.as_bytes())));
        (
            format!("{without_proof},p={}", B64.encode(proof)),
            expected_server_final.into_bytes(),
        )
    }

    #[test]
    fn rfc_7677_test_vector_gives_the_published_proof_and_signature() {
        // RFC 7677 §3: user "user", password "pencil", 4096 iterations.
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let credential = ScramCredential::with_salt(Mechanism::Sha256, "pencil", &salt, 4096);
        let bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let exchange = ServerFirst {
            mechanism: Mechanism::Sha256,
            user: "user".into(),
            credential: Some(credential),
            nonce: "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into(),
            client_first_bare: bare.into(),
            server_first: server_first.into(),
        };
        let client_final = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        let (user, server_final) = exchange.finish(client_final).unwrap();
        assert_eq!(user, "user");
        assert_eq!(server_final, b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    }

    #[test]
    fn a_full_exchange_succeeds_with_the_password_for_both_mechanisms() {
        for mechanism in Mechanism::ALL {
            let stored = ScramCredential::new(mechanism, "s3cret", MIN_ITERATIONS);
            let first = ServerFirst::start(mechanism, b"n,,n=alice,r=abc123", |u| {
                (u == "alice").then(|| stored.clone())
            })
            .unwrap();
            let server_first = String::from_utf8(first.message().to_vec()).unwrap();
            assert!(server_first.starts_with("r=abc123"), "{server_first}");
            let (client_final, expected) = client_final(mechanism, "s3cret", "n=alice,r=abc123", &server_first);
            let (user, server_final) = first.finish(client_final.as_bytes()).unwrap();
            assert_eq!((user.as_str(), server_final), ("alice", expected));
        }
    }

    #[test]
    fn a_wrong_password_and_an_unknown_user_fail_alike() {
        let stored = ScramCredential::new(Mechanism::Sha512, "right", MIN_ITERATIONS);
        for (user, password) in [("alice", "wrong"), ("mallory", "right")] {
            let first_msg = format!("n,,n={user},r=nonce");
            let first = ServerFirst::start(Mechanism::Sha512, first_msg.as_bytes(), |u| {
                (u == "alice").then(|| stored.clone())
            })
            .unwrap();
            let server_first = String::from_utf8(first.message().to_vec()).unwrap();
            let (client_final, _) = client_final(Mechanism::Sha512, password, &first_msg[3..], &server_first);
            assert_eq!(
                first.finish(client_final.as_bytes()).unwrap_err(),
                ScramError::BadCredentials("SCRAM-SHA-512")
            );
        }
    }

    #[test]
    fn malformed_messages_and_token_auth_are_refused() {
        let none = |_: &str| None;
        for bad in [
            &b"p=tls-unique,,n=a,r=x"[..],
            b"n,,r=x",
            b"n,,n=a",
            b"n,,n=a=ZZ,r=x",
            b"\xff\xfe",
            b"",
        ] {
            assert!(
                matches!(
                    ServerFirst::start(Mechanism::Sha256, bad, none),
                    Err(ScramError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            ServerFirst::start(Mechanism::Sha256, b"n,,n=a,r=x,tokenauth=true", none),
            Err(ScramError::Extension(_))
        ));
        let first = ServerFirst::start(Mechanism::Sha256, b"n,,n=a,r=x", none).unwrap();
        assert!(matches!(
            first.finish(b"c=biws,r=other,p=AAAA"),
            Err(ScramError::Malformed("nonce mismatch"))
        ));
    }

    #[test]
    fn plain_passwords_are_checked_against_the_stored_verifier() {
        let stored = ScramCredential::new(Mechanism::Sha256, "pw", MIN_ITERATIONS);
        assert!(stored.verifies(Mechanism::Sha256, "pw"));
        assert!(!stored.verifies(Mechanism::Sha256, "pW"));
        assert!(!stored.stored_key.contains("pw") && !stored.salt.is_empty());
    }
}
