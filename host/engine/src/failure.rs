//! Errors as user code sees them: [`Failure`] (what a function returns) and [`TaskError`]
//! (what an orchestrator gets back from an activity, a sub-orchestration or a wait).

use std::any::Any;

use super::history::FailureDetails;

/// Why a task awaited by an orchestrator did not produce a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    /// The activity or sub-orchestration failed.
    #[error("{name} failed: {details}")]
    Failed {
        /// Activity or orchestrator name.
        name: String,
        /// The failure it reported.
        details: Box<FailureDetails>,
    },
    /// A wait with a timeout ran out.
    #[error("timed out waiting for {0}")]
    TimedOut(String),
    /// A durable HTTP request that cannot be sent: its method, URI or a header is not valid
    /// (then nothing was sent), or a `202` answer's `Location` cannot be polled.
    #[error("invalid durable HTTP request: {0}")]
    InvalidHttpRequest(crate::durable_http::HttpRequestError),
    /// The result could not be deserialized into the expected type.
    #[error("the result of {name} does not match the expected type: {message}")]
    Deserialize {
        /// What produced the result.
        name: String,
        /// The serde error.
        message: String,
    },
}

impl TaskError {
    /// The failure details to report when this error fails the caller.
    pub fn to_failure_details(&self) -> FailureDetails {
        match self {
            TaskError::Failed { name, details } => FailureDetails {
                error_type: "TaskFailedError".to_string(),
                error_message: format!("{name} failed: {}", details.error_message),
                inner_failure: Some(details.clone()),
                ..FailureDetails::default()
            },
            TaskError::TimedOut(_) => FailureDetails::new("TimeoutError", self.to_string()),
            TaskError::InvalidHttpRequest(_) => FailureDetails {
                is_non_retriable: true,
                ..FailureDetails::new(crate::durable_http::INVALID_HTTP_REQUEST, self.to_string())
            },
            TaskError::Deserialize { .. } => {
                FailureDetails::new("DeserializeError", self.to_string())
            }
        }
    }
}

/// The failure type of an activity run its host cancelled at its timeout; a call that fails
/// with it is [`TaskError::TimedOut`] to the orchestrator.
pub const ACTIVITY_TIMEOUT: &str = "ActivityTimeout";

/// The error a user function returns; it becomes `FailureDetails` in history.
///
/// Any `std::error::Error` converts into it with `?`, keeping its type name and message.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure(pub FailureDetails);

impl Failure {
    /// A failure with an error type and a message.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Failure(FailureDetails::new(error_type, message))
    }

    /// A failure with a message, of type `Error`.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::new("Error", message)
    }

    /// Marks the failure as not worth retrying.
    pub fn non_retriable(mut self) -> Self {
        self.0.is_non_retriable = true;
        self
    }

    /// The failure details.
    pub fn details(&self) -> &FailureDetails {
        &self.0
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        let any: &dyn Any = &e;
        if let Some(task) = any.downcast_ref::<TaskError>() {
            return Failure(task.to_failure_details());
        }
        let error_type = std::any::type_name::<E>()
            .rsplit("::")
            .next()
            .unwrap_or("Error")
            .to_string();
        Failure(FailureDetails::new(error_type, e.to_string()))
    }
}

/// A serde failure when encoding an input or decoding a result.
pub(crate) fn serde_failure(what: &str, e: serde_json::Error) -> Failure {
    Failure::new("SerializationError", format!("{what}: {e}"))
}
