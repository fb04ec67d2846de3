//! Configuration mistakes, each reported once with the file, the line and the key: the type
//! every sluice client shares.

pub use kafka_client::ConfigError;
