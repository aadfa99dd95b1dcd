//! The stable error contract (docs/contracts.md).
//!
//! Every task Lambda returns a [`FailsafeError`]; its [`ErrorKind`] becomes the Lambda's
//! `errorType`, which the ASL files match in `Retry` and `Catch`. The names are a contract:
//! renaming one silently breaks the state machines.

use lambda_runtime::Diagnostic;
use std::fmt;

/// The `errorType` names the state machines match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// AWS asked us to slow down; ASL retries with backoff.
    Throttled,
    /// A fault that a new attempt can clear: HTTP 5xx (`InternalFailure`, `ServiceUnavailable`),
    /// a timeout, a dropped connection. The SDK makes one attempt, so each shows in the
    /// execution history; ASL retries it with backoff.
    Transient,
    SnapshotNotFound,
    KmsKeyNotAccessible,
    SnapshotQuotaExceeded,
    CopyFailed,
    /// TDE, permanent or persistent option group, … — the snapshot can never be shared.
    NotShareable,
    InvalidConfig,
    InvalidInput,
    /// A Failsafe copy exists but does not meet the verification rules.
    VerifyFailed,
    /// A restore drill's database ended in a status it cannot leave (e.g. `incompatible-restore`).
    RestoreFailed,
    /// A drill's database cannot be deleted yet (a cluster whose instance is still there, a
    /// database in a state that refuses deletion); ASL retries the clean-up.
    CleanupPending,
    /// A drill's database is getting its RDS-managed master password (the secret is being
    /// created, the database is resetting its credentials); ASL retries `validate-drill`.
    CredentialsPending,
    /// The Live preflight found a problem that would make every copy of the run fail (the share
    /// key disabled or closed to every Failsafe account, no source with copyable snapshots).
    PreflightFailed,
    /// Any other AWS failure; not retried by ASL beyond the service-error policy.
    AwsError,
}

impl ErrorKind {
    /// Every kind; their names are the contract's `errorTypes` (contract/contract.json), in order.
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::Throttled,
        ErrorKind::Transient,
        ErrorKind::SnapshotNotFound,
        ErrorKind::KmsKeyNotAccessible,
        ErrorKind::SnapshotQuotaExceeded,
        ErrorKind::CopyFailed,
        ErrorKind::NotShareable,
        ErrorKind::InvalidConfig,
        ErrorKind::InvalidInput,
        ErrorKind::VerifyFailed,
        ErrorKind::RestoreFailed,
        ErrorKind::CleanupPending,
        ErrorKind::CredentialsPending,
        ErrorKind::PreflightFailed,
        ErrorKind::AwsError,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "Throttled",
            ErrorKind::Transient => "Transient",
            ErrorKind::SnapshotNotFound => "SnapshotNotFound",
            ErrorKind::KmsKeyNotAccessible => "KmsKeyNotAccessible",
            ErrorKind::SnapshotQuotaExceeded => "SnapshotQuotaExceeded",
            ErrorKind::CopyFailed => "CopyFailed",
            ErrorKind::NotShareable => "NotShareable",
            ErrorKind::InvalidConfig => "InvalidConfig",
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::VerifyFailed => "VerifyFailed",
            ErrorKind::RestoreFailed => "RestoreFailed",
            ErrorKind::CleanupPending => "CleanupPending",
            ErrorKind::CredentialsPending => "CredentialsPending",
            ErrorKind::PreflightFailed => "PreflightFailed",
            ErrorKind::AwsError => "AwsError",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An error with a stable kind and a message meant for the operator reading the execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailsafeError {
    pub kind: ErrorKind,
    pub message: String,
}

impl FailsafeError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidConfig, message)
    }
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    /// The same error, its message followed by what the operator should check.
    pub fn hinted(mut self, hint: impl fmt::Display) -> Self {
        self.message = format!("{}; {hint}", self.message);
        self
    }
}

impl fmt::Display for FailsafeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for FailsafeError {}

impl From<FailsafeError> for Diagnostic {
    fn from(e: FailsafeError) -> Self {
        Diagnostic {
            error_type: e.kind.name().to_string(),
            error_message: e.message,
        }
    }
}

pub type Result<T, E = FailsafeError> = std::result::Result<T, E>;

/// The message of a Step Functions error `Cause`. A Lambda error reaches the state machine with
/// `Cause` = the JSON string `{"errorMessage": "...", "errorType": "...", ...}`; a cause the
/// state machine wrote itself (a timeout, a `States.Format`) is plain text and kept as it is.
pub fn cause_message(cause: &str) -> String {
    serde_json::from_str::<serde_json::Value>(cause)
        .ok()
        .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_string))
        .unwrap_or_else(|| cause.to_string())
}

/// `Error: message` of a failed item, the message read from its cause.
pub fn describe_failure(error: Option<&str>, cause: Option<&str>) -> String {
    format!(
        "{}: {}",
        error.unwrap_or("Failed"),
        cause.map(cause_message).unwrap_or_else(|| {
            "the cause is in this source's child execution and the function's log".into()
        })
    )
}

/// How many failures an execution's cause names before "and N more".
pub const CAUSE_ITEMS: usize = 10;
/// How long one failure's line in a cause may be (characters).
pub const CAUSE_ITEM_CHARS: usize = 1000;

/// `3 failed: a; b; c` — the cause of a failed execution, what an operator reads first; empty
/// when nothing failed. Bounded whatever the number of sources: the first [`CAUSE_ITEMS`]
/// failures, each cut at [`CAUSE_ITEM_CHARS`], then "and N more" (Step Functions refuses a
/// cause over 32,768 characters). `total` counts failures `failed` does not list (at least
/// `failed.len()`).
pub fn failure_cause(failed: &[String], total: usize) -> String {
    let total = total.max(failed.len());
    if total == 0 {
        return String::new();
    }
    let shown: Vec<String> = failed
        .iter()
        .take(CAUSE_ITEMS)
        .map(|f| cut(f, CAUSE_ITEM_CHARS))
        .collect();
    let more = total - shown.len();
    let tail = if more > 0 {
        format!("; and {more} more (the summary counts them; each source's child execution has its cause)")
    } else {
        String::new()
    };
    format!("{total} failed: {}{tail}", shown.join("; "))
}

/// `text` cut to at most `max` characters, marked with "…" when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `true` if an AWS error code says no more than the kind's name (`KMSKeyNotAccessibleFault`
/// and `KmsKeyNotAccessible`), so a message need not repeat it.
pub fn code_names_kind(code: &str, kind: ErrorKind) -> bool {
    let norm = |s: &str| {
        let s = s.to_ascii_lowercase();
        let s = s.strip_suffix("fault").unwrap_or(&s).to_string();
        s.strip_suffix("exception").unwrap_or(&s).to_string()
    };
    norm(code) == norm(kind.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_kinds_are_the_contracts_error_types() {
        let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names, crate::contract::ERROR_TYPES);
    }

    #[test]
    fn the_message_of_a_lambda_cause_is_read_from_its_json() {
        let cause = r#"{"errorMessage":"CopyDBSnapshot: quota reached","errorType":"SnapshotQuotaExceeded","requestId":"r","stackTrace":[]}"#;
        assert_eq!(cause_message(cause), "CopyDBSnapshot: quota reached");
        // causes the state machine wrote itself are plain text
        assert_eq!(
            cause_message("copy x was not available after 60 seconds"),
            "copy x was not available after 60 seconds"
        );
        assert_eq!(cause_message("{\"other\":1}"), "{\"other\":1}");
    }

    #[test]
    fn codes_that_only_repeat_the_kind_are_recognised() {
        assert!(code_names_kind(
            "KMSKeyNotAccessibleFault",
            ErrorKind::KmsKeyNotAccessible
        ));
        assert!(code_names_kind(
            "SnapshotQuotaExceeded",
            ErrorKind::SnapshotQuotaExceeded
        ));
        assert!(code_names_kind(
            "SnapshotQuotaExceededFault",
            ErrorKind::SnapshotQuotaExceeded
        ));
        assert!(!code_names_kind(
            "InvalidParameterValue",
            ErrorKind::AwsError
        ));
        assert!(!code_names_kind(
            "SharedSnapshotQuotaExceeded",
            ErrorKind::SnapshotQuotaExceeded
        ));
    }

    #[test]
    fn a_cause_names_the_first_failures_then_counts_the_rest() {
        let failed: Vec<String> = (0..412 + CAUSE_ITEMS)
            .map(|i| format!("instance:db-{i:04}: CopyFailed: {}", "x".repeat(5000)))
            .collect();
        let cause = failure_cause(&failed, failed.len());
        assert!(cause.starts_with(&format!("{} failed: instance:db-0000", 412 + CAUSE_ITEMS)));
        assert!(
            cause.contains("and 412 more"),
            "{}",
            &cause[cause.len() - 120..]
        );
        assert!(!cause.contains(&format!("db-{:04}", CAUSE_ITEMS)));
        assert!(cause.chars().count() < 32_768, "{}", cause.len());
        assert_eq!(failure_cause(&failed[..2], 2).matches("failed").count(), 1);
        assert!(!failure_cause(&failed[..2], 2).contains("more"));
        // failures counted but not listed (announced snapshots beyond the first 25)
        let counted = failure_cause(&failed[..2], 30);
        assert!(
            counted.starts_with("30 failed: ") && counted.contains("and 28 more"),
            "{counted}"
        );
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }

    #[test]
    fn diagnostic_carries_the_stable_error_type() {
        let d: Diagnostic = FailsafeError::new(ErrorKind::Throttled, "slow down").into();
        assert_eq!(d.error_type, "Throttled");
        assert_eq!(d.error_message, "slow down");
    }
}
