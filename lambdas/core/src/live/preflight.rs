//! The handler of `preflight`: the Live run's first look at what every copy depends on (the
//! share key, the Failsafe topics, the quotas, the selected sources), before anything is changed.
//! A problem that would make every copy fail stops the run with `PreflightFailed` and one
//! message; the other findings go into the run's summary.

use crate::config::LiveConfig;
use crate::error::Result;
use crate::operator::preflight::live_preflight;
use crate::policy::bounded::Bounded;
use crate::policy::preflight::{not_copyable_findings, CopyWindow, Level};
use crate::port::{Databases, PolicyReads, Snapshots};
use crate::wire::{PreflightInput, PreflightOutput};
use tracing::{info, warn};

pub async fn preflight<S: Snapshots + Databases + PolicyReads>(
    cfg: &LiveConfig,
    store: &S,
    input: PreflightInput,
) -> Result<PreflightOutput> {
    let run = match (input.now, input.max_wait_seconds) {
        (Some(start), Some(seconds)) => Some(CopyWindow {
            start,
            seconds,
            wait: input.wait,
        }),
        _ => None,
    };
    let report = live_preflight(cfg, store, &input.sources, run.as_ref()).await?;
    let (mut problems, mut warnings, mut ok_count) = (Bounded::new(), Bounded::new(), 0);
    let not_copyable = not_copyable_findings(&input.skipped);
    for f in not_copyable.iter().chain(&report.findings) {
        match f.level {
            Level::Problem => {
                warn!(action = "preflight", check = f.check, subject = %f.subject, blocks = f.blocks, "{}", f.message);
                problems.push(f.clone());
            }
            Level::Warning => {
                warn!(action = "preflight", check = f.check, subject = %f.subject, "{}", f.message);
                warnings.push(f.clone());
            }
            Level::Ok => {
                info!(action = "preflight", check = f.check, subject = %f.subject, "{}", f.message);
                ok_count += 1;
            }
        }
    }
    let mut would_stop = None;
    if let Some(e) = report.blocking_error() {
        if !input.dry_run {
            return Err(e);
        }
        warn!(action = "preflight", dry_run = true, "{}", e.message);
        would_stop = Some(e.message);
    }
    Ok(PreflightOutput {
        problem_count: problems.count,
        problems: problems.first,
        warning_count: warnings.count,
        warnings: warnings.first,
        ok_count,
        would_stop,
    })
}
