//! rdsf-core's integration tests, one binary (one link of the SDK instead of one per file): every
//! handler on the in-memory fake, by side, the operator's commands, the preflights, and the AWS
//! adapter over mocked SDK responses.

mod common;

mod aws_adapter;
mod drill;
mod failsafe;
mod live;
mod operator;
mod preflight;
mod rds_rules;
