//! The SASL exchange a SASL listener runs before anything else: SaslHandshake picks a mechanism
//! (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN or OAUTHBEARER, by the input's first byte), then each
//! client token in turn (the rest of the input, split at 0xff, which no SCRAM or PLAIN message
//! holds) goes through `authenticate` against a users file with one user, until it fails.
#![no_main]

use std::sync::OnceLock;

use broker::auth::sasl::{SaslSession, Step};
use broker::auth::users::{self, Users};
use libfuzzer_sys::fuzz_target;

const MECHANISMS: [&str; 4] = ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN", "OAUTHBEARER"];

fn users() -> &'static Users {
    static USERS: OnceLock<Users> = OnceLock::new();
    USERS.get_or_init(|| {
        // Kept for the process' life; fuzz/run.sh points TMPDIR at a directory it removes.
        let dir = tempfile::tempdir().expect("a temporary dir").keep();
        let users = Users::open(&dir);
        users::add(&dir.join("users.toml"), "alice", "alice-secret").expect("a users file");
        users
    })
}

fuzz_target!(|input: &[u8]| {
    let Some((&choice, tokens)) = input.split_first() else {
        return;
    };
    let mechanism = MECHANISMS[usize::from(choice & 3)];
    let enabled: Vec<String> = MECHANISMS.iter().map(|m| m.to_string()).collect();
    let mut session = SaslSession::new(true);
    if session.handshake(mechanism, &enabled, i16::from(choice >> 7)).is_err() {
        return;
    }
    for token in tokens.split(|&b| b == 0xff) {
        match session.authenticate(token, users()) {
            Step::Continue(_) if session.authenticated() => return,
            Step::Continue(_) => {}
            Step::Failed(message) => {
                let _ = session.failure_line(token, &message);
                return;
            }
        }
    }
});
