//! Value types Telegraf's config uses that TOML has no word for.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A duration written as Telegraf writes it: `"10s"`, `"500ms"`, `"1m30s"`, or an integer
/// number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub const fn secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"10s\", \"500ms\" or \"1m\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
                if s.is_empty() {
                    return Ok(Duration::default());
                }
                humantime::parse_duration(s).map(Duration).map_err(|e| {
                    E::custom(format!(
                        "invalid duration {s:?} ({e}): expected a duration such as \"10s\", \"500ms\" or \"1m\""
                    ))
                })
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Duration, E> {
                u64::try_from(n)
                    .map(Duration::secs)
                    .map_err(|_| E::custom(format!("invalid duration {n}: a duration cannot be negative")))
            }
        }
        d.deserialize_any(V)
    }
}
