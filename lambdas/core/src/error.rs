//! The stable error contract of DESIGN §3.
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
    /// Any other AWS failure; not retried by ASL beyond the service-error policy.
    AwsError,
}

impl ErrorKind {
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "Throttled",
            ErrorKind::SnapshotNotFound => "SnapshotNotFound",
            ErrorKind::KmsKeyNotAccessible => "KmsKeyNotAccessible",
            ErrorKind::SnapshotQuotaExceeded => "SnapshotQuotaExceeded",
            ErrorKind::CopyFailed => "CopyFailed",
            ErrorKind::NotShareable => "NotShareable",
            ErrorKind::InvalidConfig => "InvalidConfig",
            ErrorKind::InvalidInput => "InvalidInput",
            ErrorKind::VerifyFailed => "VerifyFailed",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_carries_the_stable_error_type() {
        let d: Diagnostic = FailsafeError::new(ErrorKind::Throttled, "slow down").into();
        assert_eq!(d.error_type, "Throttled");
        assert_eq!(d.error_message, "slow down");
    }
}
