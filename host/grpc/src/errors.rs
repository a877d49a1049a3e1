//! The client's errors as gRPC statuses.

use durable_client::ClientError;
use durable_store::StoreError;
use tonic::Status;

/// The status a client error answers with: a missing instance is `NOT_FOUND`, an existing one
/// `ALREADY_EXISTS`, a bad argument `INVALID_ARGUMENT`, an instance in the wrong status
/// `FAILED_PRECONDITION`, and a store failure `UNAVAILABLE` (when trying again may help) or
/// `INTERNAL`.
pub fn status_of(e: ClientError) -> Status {
    let message = e.to_string();
    match e {
        ClientError::InvalidInstanceId { .. }
        | ClientError::InvalidArgument(_)
        | ClientError::Serialize(_) => Status::invalid_argument(message),
        ClientError::NotFound(_) => Status::not_found(message),
        ClientError::AlreadyExists { .. } => Status::already_exists(message),
        ClientError::WrongStatus { .. } => Status::failed_precondition(message),
        ClientError::Timeout(_) => Status::deadline_exceeded(message),
        ClientError::Store(e) => store_status(e),
    }
}

/// The status a store error answers with.
pub fn store_status(e: StoreError) -> Status {
    let message = e.to_string();
    match e {
        StoreError::InstanceExists { .. } => Status::already_exists(message),
        StoreError::BadContinuation(_) => Status::invalid_argument(message),
        StoreError::Unsupported(_) => Status::unimplemented(message),
        e if e.is_retryable() => Status::unavailable(message),
        _ => Status::internal(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_engine::history::OrchestrationStatus;
    use tonic::Code;

    #[test]
    fn client_errors_map_to_their_codes() {
        let cases = [
            (ClientError::NotFound("a".into()), Code::NotFound),
            (
                ClientError::AlreadyExists {
                    instance_id: "a".into(),
                    status: OrchestrationStatus::Running,
                },
                Code::AlreadyExists,
            ),
            (
                ClientError::InvalidArgument("bad".into()),
                Code::InvalidArgument,
            ),
            (
                ClientError::WrongStatus {
                    instance_id: "a".into(),
                    status: OrchestrationStatus::Completed,
                    operation: "suspend",
                    expected: "running",
                },
                Code::FailedPrecondition,
            ),
            (
                ClientError::Store(StoreError::backend(
                    "busy",
                    std::io::Error::other("x"),
                    true,
                )),
                Code::Unavailable,
            ),
            (
                ClientError::Store(StoreError::Corrupt("x".into())),
                Code::Internal,
            ),
            (
                ClientError::Store(StoreError::BadContinuation("t".into())),
                Code::InvalidArgument,
            ),
        ];
        for (error, code) in cases {
            let text = error.to_string();
            let status = status_of(error);
            assert_eq!(status.code(), code, "{text}");
            assert_eq!(status.message(), text);
        }
    }
}
