//! The Failsafe account's task handlers. Safe even if the Live account is hostile: a message
//! only wakes the state machine up; what is saved is what `find-shared` finds itself; nothing
//! here deletes or overwrites a copy because of anything a Live account sent.

mod find_shared;
mod prune;
mod save;
mod start_failsafe;
mod verify;

pub use find_shared::*;
pub use prune::*;
pub use save::*;
pub use start_failsafe::*;
pub use verify::*;
