//! What every sluice component that is a Kafka client shares.
//!
//! - [`load_toml`] and [`ConfigError`]: a config file read, `${VAR}`-expanded and parsed, with
//!   errors that name the file, the line and the key.
//! - [`Security`]: TLS and SASL with Telegraf's option names (`tls_ca`, `sasl_username`, …),
//!   checked once and turned into librdkafka's settings.
//! - [`expand_env`]: `${VAR}` and `${VAR:-default}` in a config file, as Telegraf expands them,
//!   with every substituted value kept out of error messages.
//! - [`Properties`]: a Kafka client properties file (`--command-config`, `--consumer.config`),
//!   as Kafka's command-line tools read it.
//! - [`Librdkafka`]: a component's `[librdkafka]` pass-through table, checked and applied.
//! - [`librdkafka_log`]: librdkafka's log lines and errors at sluice's log levels.
//! - [`native`]: the librdkafka calls rdkafka does not wrap (group offsets, group descriptions,
//!   topic ids, cached watermarks), the one place with `unsafe`.

mod config_file;
mod env;
pub mod librdkafka_log;
mod librdkafka_table;
pub mod native;
mod properties;
mod security;

pub use config_file::{duration, load_toml, parse_toml, ConfigError};
pub use env::{expand_env, EnvError, Expanded};
pub use librdkafka_table::Librdkafka;
pub use properties::{Properties, PropertiesError};
pub use security::{Protocol, Secret, Security, SecurityError};
