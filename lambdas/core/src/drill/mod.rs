//! The restore drill's task handlers (Failsafe account, opt-in): `select-drills` picks the
//! copies, `restore-drill` restores one into a database tagged `rds-failsafe:drill=true`,
//! `check-drill` reads its status, `end-drill` deletes what the drill made and records the
//! result. The waiting and the clean-up on failure are the drill state machine's.

mod check_drill;
mod end_drill;
mod restore_drill;
mod select_drills;

pub use check_drill::*;
pub use end_drill::*;
pub use restore_drill::*;
pub use select_drills::*;
