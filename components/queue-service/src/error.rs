//! The errors a caller sees, one-to-one with the contract's `error` variant.

use promptmesh_guest::db::DbError;

/// A problem with one field of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field as the REST API names it, e.g. `callback_url`.
    pub field: String,
    /// A stable snake_case code, e.g. `invalid_callback_url`.
    pub code: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Why an operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No job or image has that id.
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid {}: {} ({})", .0.field, .0.message, .0.code)]
    Invalid(FieldError),
    /// The job's state does not allow the change.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The queue holds its capacity; retry after this many seconds.
    #[error("queue full: retry after {0} s")]
    QueueFull(u32),
    /// The database failed, or the configuration does not parse.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An `invalid` error for `field`.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Error {
        Error::Invalid(FieldError {
            field: field.to_string(),
            code: code.to_string(),
            message: message.into(),
        })
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Error {
        Error::Internal(e.to_string())
    }
}

/// Results of the queue's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_failures_are_internal() {
        let error: Error = DbError::Failed("disk I/O error".into()).into();
        assert_eq!(
            error,
            Error::Internal("database error: disk I/O error".into())
        );
    }
}
