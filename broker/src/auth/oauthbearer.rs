//! SASL/OAUTHBEARER ([KIP-255]; the message of [RFC 7628]) with Kafka's default validator for
//! it: an *unsecured* JSON Web Token, `{"alg":"none"}` and no signature, whose `sub` claim names
//! the principal. Nothing proves who made such a token, so a client can name any principal:
//! Kafka ships this validator for development and tests, and so does this broker. It is offered
//! only where `sasl.enabled.mechanisms` lists OAUTHBEARER, and the broker warns when it starts.
//!
//! The client's one message is `n,[a=authzid],` then `0x01`-separated `key=value` pairs, among
//! them `auth=Bearer <token>`, and a final `0x01`. A good token authenticates at once. A bad one
//! gets RFC 7628's error challenge, `{"status":"invalid_token"}`; the client answers it with a
//! lone `0x01` and the exchange then fails with that status in its message, as Kafka's does.
//!
//! [KIP-255]: https://cwiki.apache.org/confluence/pages/viewpage.action?pageId=75968876
//! [RFC 7628]: https://www.rfc-editor.org/rfc/rfc7628

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

pub const NAME: &str = "OAUTHBEARER";

/// RFC 7628's separator of key/value pairs.
const KVSEP: char = '\u{1}';

/// The challenge a client gets for a token that does not validate (RFC 7628 §3.2.2).
pub const INVALID_TOKEN: &str = r#"{"status":"invalid_token"}"#;

/// Checks the client's first message; the principal (the token's `sub`) on success, why not
/// otherwise. `now_ms` is the broker's clock, against which `exp` and `iat` are checked.
pub fn validate(message: &[u8], now_ms: i64) -> Result<String, String> {
    let text = std::str::from_utf8(message).map_err(|_| "the message is not UTF-8".to_string())?;
    let (gs2, pairs) = text
        .split_once(KVSEP)
        .ok_or("no key/value pairs after the GS2 header")?;
    let authzid = gs2_authzid(gs2)?;
    let mut token = None;
    for pair in pairs.split(KVSEP).filter(|p| !p.is_empty()) {
        // Not echoed: a malformed pair may hold the token itself.
        let (key, value) = pair.split_once('=').ok_or("a pair of the message is not key=value")?;
        if key == "auth" {
            let bearer = value
                .strip_prefix("Bearer ")
                .ok_or("the auth value is not `Bearer <token>`")?;
            token = Some(bearer.trim());
        }
    }
    let token = token.ok_or("no auth=Bearer <token> pair")?;
    let sub = unsecured_subject(token, now_ms)?;
    match authzid {
        Some(a) if a != sub => Err(format!("authorization id `{a}` is not the token's subject `{sub}`")),
        _ => Ok(sub),
    }
}

/// The GS2 header: `n,,` or `n,a=<authzid>,` (no channel binding).
fn gs2_authzid(gs2: &str) -> Result<Option<String>, String> {
    let rest = gs2
        .strip_prefix("n,")
        .or_else(|| gs2.strip_prefix("y,"))
        .ok_or("the GS2 header does not start with n, (channel binding is not supported)")?;
    let authzid = rest.strip_suffix(',').ok_or("the GS2 header does not end with ,")?;
    match authzid {
        "" => Ok(None),
        a => a
            .strip_prefix("a=")
            .map(|a| Some(a.to_string()))
            .ok_or_else(|| format!("`{a}` is not a=<authorization id>")),
    }
}

/// Kafka's unsecured validator: `header.claims.` with `"alg":"none"`, a string `sub`, an `exp` in
/// the future and an `iat` not in the future (both in seconds, fractions allowed).
fn unsecured_subject(token: &str, now_ms: i64) -> Result<String, String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("the token is not header.claims.signature".into());
    };
    if !signature.is_empty() {
        return Err("the token is signed; only unsecured tokens (alg none) are validated here".into());
    }
    let json = |part: &str, what: &str| -> Result<serde_json::Value, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| format!("the token's {what} is not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| format!("the token's {what} is not JSON"))
    };
    let header = json(header, "header")?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("none") {
        return Err(r#"the token's header is not {"alg":"none"}"#.into());
    }
    let claims = json(claims, "claims")?;
    let seconds = |name: &str| {
        claims
            .get(name)
            .map(|v| v.as_f64().ok_or(format!("`{name}` is not a number")))
    };
    let exp = seconds("exp").ok_or("the token has no `exp` claim")??;
    if exp * 1000.0 <= now_ms as f64 {
        return Err("the token has expired".into());
    }
    if let Some(iat) = seconds("iat") {
        if iat? * 1000.0 > now_ms as f64 {
            return Err("the token was issued in the future (`iat`)".into());
        }
    }
    match claims.get("sub").and_then(|s| s.as_str()) {
        Some(sub) if !sub.trim().is_empty() => Ok(sub.to_string()),
        _ => Err("the token has no `sub` claim to name its principal".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_800_000_000_000;

    fn token(header: &str, claims: &str) -> String {
        format!("{}.{}.", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims))
    }

    fn message(gs2: &str, token: &str) -> Vec<u8> {
        format!("{gs2}\u{1}auth=Bearer {token}\u{1}\u{1}").into_bytes()
    }

    #[test]
    fn an_unsecured_token_names_its_subject() {
        let t = token(
            r#"{"alg":"none"}"#,
            r#"{"sub":"admin","exp":1800000060,"iat":1799999990}"#,
        );
        assert_eq!(validate(&message("n,,", &t), NOW_MS).unwrap(), "admin");
        assert_eq!(validate(&message("n,a=admin,", &t), NOW_MS).unwrap(), "admin");
        // Extensions beside auth are allowed.
        let with_ext = format!("n,,\u{1}traceId=42\u{1}auth=Bearer {t}\u{1}\u{1}");
        assert_eq!(validate(with_ext.as_bytes(), NOW_MS).unwrap(), "admin");
    }

    #[test]
    fn expired_signed_malformed_or_mismatched_tokens_are_refused() {
        let claims = |c: &str| token(r#"{"alg":"none"}"#, c);
        let refused = [
            message("n,,", &claims(r#"{"sub":"admin","exp":1799999999}"#)),
            message("n,,", &claims(r#"{"sub":"admin"}"#)),
            message("n,,", &claims(r#"{"exp":1800000060}"#)),
            message("n,,", &claims(r#"{"sub":"admin","exp":1800000060,"iat":1800000100}"#)),
            message("n,a=root,", &claims(r#"{"sub":"admin","exp":1800000060}"#)),
            message("n,,", &format!("{}sig", claims(r#"{"sub":"a","exp":1800000060}"#))),
            message("n,,", &token(r#"{"alg":"HS256"}"#, r#"{"sub":"a","exp":1800000060}"#)),
            message("n,,", "not-a-token"),
            message("p=tls-unique,,", &claims(r#"{"sub":"a","exp":1800000060}"#)),
            b"n,,".to_vec(),
            vec![0xff, 0xfe],
        ];
        for m in refused {
            assert!(validate(&m, NOW_MS).is_err(), "{:?}", String::from_utf8_lossy(&m));
        }
    }
}
