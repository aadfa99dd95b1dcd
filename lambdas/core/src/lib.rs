//! rds-failsafe core: the policy of both accounts as pure functions, the [`store::SnapshotStore`]
//! port with its AWS SDK adapter and an in-memory fake, and one handler per task Lambda.

pub mod arn;
pub mod aws;
pub mod config;
pub mod error;
pub mod failsafe;
pub mod fake;
pub mod live;
pub mod message;
pub mod model;
pub mod naming;
pub mod policy;
pub mod retention;
pub mod selection;
pub mod store;
pub mod tags;
