//! The handler of `start-failsafe` (SNS subscriber): validates the Live account's message and starts the
//! Failsafe state machine under a name derived from it, so a duplicate delivery is a no-op.
//! Malformed or foreign messages are logged and dropped, never retried forever.

use crate::config::FailsafeConfig;
use crate::error::Result;
use crate::policy::message::FailsafeMessage;
use crate::port::{Executions, StartOutcome};
use crate::wire::{Rejected, StartOutput};
use tracing::{info, warn};

/// Handles an SNS event. A malformed or foreign message is logged and rejected without an
/// error, so SNS does not redeliver it forever; only a failure to reach Step Functions is an
/// error (and is retried).
pub async fn start_failsafe<S: Executions>(
    cfg: &FailsafeConfig,
    store: &S,
    event: serde_json::Value,
) -> Result<StartOutput> {
    let state_machine = cfg.require_state_machine_arn()?;
    let mut out = StartOutput::default();
    let Some(records) = event.get("Records").and_then(|r| r.as_array()) else {
        let reason = "event has no Records array; not an SNS event".to_string();
        warn!(action = "trigger-reject", reason = %reason, "rejected");
        out.rejected.push(Rejected {
            message_id: String::new(),
            reason,
        });
        return Ok(out);
    };
    for record in records {
        let sns = record.get("Sns");
        let message_id = sns
            .and_then(|s| s.get("MessageId"))
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string();
        let body = sns.and_then(|s| s.get("Message")).and_then(|m| m.as_str());
        let parsed = match body {
            None => Err("record has no Sns.Message string".to_string()),
            Some(b) => FailsafeMessage::parse(b, &cfg.source_accounts),
        };
        let msg = match parsed {
            Ok(m) => m,
            Err(reason) => {
                warn!(action = "trigger-reject", message_id = %message_id, reason = %reason, "rejected message");
                out.rejected.push(Rejected { message_id, reason });
                continue;
            }
        };
        let name = msg.execution_name();
        let mut input = serde_json::json!({
            "trigger": super::Trigger {
                message_id: message_id.clone(),
                source_account: msg.source_account.clone(),
                source_region: msg.source_region.clone(),
                snapshots: msg.snapshots.iter().map(|s| s.arn.clone()).collect(),
            }
        });
        if let Some(n) = cfg.max_concurrency {
            input["maxConcurrency"] = n.into();
        }
        if let Some(t) = cfg.copy_throughput_mibps {
            input["copyThroughputMiBps"] = t.into();
        }
        match store
            .start_execution(state_machine, &name, &input.to_string())
            .await?
        {
            StartOutcome::Started { execution_arn } => {
                info!(action = "trigger-start", message_id = %message_id, execution = %execution_arn, "started Failsafe execution");
                out.started.push(execution_arn);
            }
            StartOutcome::AlreadyExists => {
                info!(action = "trigger-duplicate", message_id = %message_id, execution = %name, "duplicate delivery; execution exists");
                out.duplicates.push(name);
            }
        }
    }
    Ok(out)
}
