//! The pure policy of both accounts: no I/O, every function tested on its own.

pub mod bounded;
pub mod checks;
pub mod copy;
pub mod copy_time;
pub mod cost;
pub mod drill;
pub mod glob;
pub mod guardrails;
pub mod hold;
pub mod map_results;
pub mod message;
pub mod naming;
pub mod polling;
pub mod preflight;
pub mod quota;
pub mod resource_policy;
pub mod restore;
pub mod retention;
pub mod selection;
pub mod shell;
pub mod status;
pub mod tags;
