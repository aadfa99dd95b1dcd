//! AWS errors as the handlers see them: each AWS error code mapped to a [`StoreErrorKind`], and
//! an SDK error (transport or service) to a [`StoreError`].

use crate::port::{StoreError, StoreErrorKind};
use aws_sdk_rds::config::http::HttpResponse;
use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Maps an AWS error code to the kind the handlers act on.
pub fn classify(code: &str) -> StoreErrorKind {
    match code {
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "SlowDown"
        | "PriorRequestNotComplete" => StoreErrorKind::Throttled,
        "InternalFailure"
        | "InternalError"
        | "InternalErrorException"
        | "InternalServerError"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "KMSInternalException" => StoreErrorKind::Transient,
        "DBSnapshotNotFound"
        | "DBSnapshotNotFoundFault"
        | "DBClusterSnapshotNotFoundFault"
        | "DBClusterSnapshotNotFound"
        | "OptionGroupNotFoundFault"
        | "NotFound"
        | "ExecutionDoesNotExist"
        | "DBInstanceNotFound"
        | "DBInstanceNotFoundFault"
        | "DBClusterNotFoundFault"
        | "NotFoundException" => StoreErrorKind::NotFound,
        "DBSnapshotAlreadyExists"
        | "DBSnapshotAlreadyExistsFault"
        | "DBClusterSnapshotAlreadyExistsFault"
        | "DBInstanceAlreadyExists"
        | "DBInstanceAlreadyExistsFault"
        | "DBClusterAlreadyExistsFault"
        | "ExecutionAlreadyExists" => StoreErrorKind::AlreadyExists,
        "KMSKeyNotAccessibleFault"
        | "KMSKeyNotAccessible"
        | "KMSAccessDenied"
        | "KMSDisabled"
        | "KMSInvalidState"
        | "KMSNotFound" => StoreErrorKind::KmsKeyNotAccessible,
        "SnapshotQuotaExceeded"
        | "SnapshotQuotaExceededFault"
        | "SharedSnapshotQuotaExceeded"
        | "SharedSnapshotQuotaExceededFault" => StoreErrorKind::QuotaExceeded,
        "InvalidDBSnapshotState"
        | "InvalidDBSnapshotStateFault"
        | "InvalidDBClusterSnapshotStateFault"
        | "InvalidDBInstanceState"
        | "InvalidDBInstanceStateFault"
        | "InvalidDBClusterStateFault" => StoreErrorKind::InvalidState,
        "InvalidParameterValue" | "InvalidParameterCombination" | "InvalidParameter" => {
            StoreErrorKind::InvalidParameter
        }
        _ => StoreErrorKind::Other,
    }
}

/// An SDK error as the handlers see it. A write makes one attempt (`AWS_MAX_ATTEMPTS=1`) so its
/// faults show in the execution history; a read gets there after [`super::READ_ATTEMPTS`]. What a new
/// attempt can clear — a timeout, a dropped connection, an unreadable answer, any HTTP 5xx — is
/// `Transient`, which every Task of the state machines retries.
pub(crate) fn map_err<E>(op: &str, e: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let transport = match &e {
        SdkError::TimeoutError(_) => Some("Timeout"),
        SdkError::DispatchFailure(_) => Some("DispatchFailure"),
        SdkError::ResponseError(_) => Some("ResponseError"),
        _ => None,
    };
    if let Some(code) = transport {
        return StoreError::new(
            StoreErrorKind::Transient,
            code,
            format!("{op}: {}", DisplayErrorContext(&e)),
        );
    }
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().unwrap_or("Unknown").to_string();
    let message = e
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| DisplayErrorContext(&e).to_string());
    let kind = match classify(&code) {
        StoreErrorKind::Other if status.is_some_and(|s| s >= 500) => StoreErrorKind::Transient,
        kind => kind,
    };
    StoreError::new(kind, code, format!("{op}: {message}"))
}

/// The `<Code>` of an RDS (AWS query protocol) error body.
pub(super) fn aws_error_code(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let end = start + text[start..].find("</Code>")?;
    Some(text[start..end].trim())
}

#[cfg(test)]
mod tests {
    use super::aws_error_code;

    #[test]
    fn reads_the_code_of_a_query_protocol_error() {
        let body = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        assert_eq!(aws_error_code(body), Some("Throttling"));
        assert_eq!(aws_error_code(b"<html>502</html>"), None);
        assert_eq!(aws_error_code(b"<Code>open"), None);
    }
}
