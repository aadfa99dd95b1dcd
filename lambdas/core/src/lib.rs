//! rds-failsafe core, in three layers:
//! - [`policy`]: pure functions (naming, selection, copy and retention policy, tags, the message
//!   schema), tested without I/O;
//! - [`port`]: every AWS call the task Lambdas make, one trait per capability ([`port::Snapshots`],
//!   [`port::SnapshotWrites`], [`port::Sharing`], [`port::Databases`], [`port::Restores`],
//!   [`port::Publishing`], [`port::Executions`], [`port::PolicyReads`]), with the AWS SDK adapter
//!   ([`port::aws`]) and an in-memory fake ([`port::fake`]) implementing them all; [`store`] holds
//!   what several tasks do over them;
//! - the handlers: one file per task Lambda under [`live`] and [`failsafe`], named after it
//!   (the Lambda `copy-latest` is `live/copy_latest.rs`);
//! - [`drill`]: the restore drill's handlers (third state machine, Failsafe account);
//! - [`operator`]: what the `rdsf` command line does (status, restore), over the same port;
//! - [`preflight`]: the checks the Live state machine runs first and `rdsf preflight` runs on
//!   either side.
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
pub mod preflight;
pub mod store;
pub mod wire;
