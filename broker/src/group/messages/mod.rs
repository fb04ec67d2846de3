//! What the handlers ask the coordinator and what it answers, in the coordinator's own terms.
//! The handlers translate from and to each API version's wire structs; the coordinator never
//! sees a version. Errors are Kafka's codes (`None` = no error).

mod admin;
mod consumer;
mod membership;
mod offsets;

pub use admin::*;
pub use consumer::*;
pub use membership::*;
pub use offsets::*;
