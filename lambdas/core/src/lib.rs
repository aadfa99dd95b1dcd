//! rds-failsafe core, in three layers:
//! - [`policy`]: pure functions (naming, selection, copy and retention policy, tags, the message
//!   schema, status, restore and preflight judgements), tested without I/O;
//! - [`port`]: every AWS call the task Lambdas make, one trait per capability ([`port::Snapshots`],
//!   [`port::SnapshotWrites`], [`port::Sharing`], [`port::Databases`], [`port::Restores`],
//!   [`port::Publishing`], [`port::Executions`], [`port::PolicyReads`]), with the AWS SDK adapter
//!   ([`port::aws`]) and an in-memory fake ([`port::fake`]) implementing them all; [`store`] holds
//!   what several tasks do over them;
//! - the handlers: one file per task Lambda under [`live`], [`failsafe`] and [`drill`] (the
//!   restore drill, third state machine), named after it (the Lambda `copy-latest` is
//!   `live/copy_latest.rs`); [`wire`] the types they take from and return to the state machines;
//! - [`operator`]: the I/O the `rdsf` command line and the Lambdas share (status, restore, and
//!   the [`operator::preflight`] the Live state machine runs first).
//!
//! [`arn`], [`model`], [`config`] and [`error`] are the vocabulary all three share.

pub mod arn;
pub mod config;
pub mod contract;
pub mod drill;
pub mod error;
pub mod failsafe;
pub mod live;
pub mod model;
pub mod operator;
pub mod policy;
pub mod port;
pub mod store;
pub mod wire;
