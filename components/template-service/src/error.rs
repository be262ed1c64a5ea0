//! The errors a caller sees, one-to-one with the WIT `error` variant.

use promptmesh_guest::db::DbError;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No such template, version or label; the message starts with the kind of thing
    /// (`template `, `version `, `label `) and names it.
    #[error("{0}")]
    NotFound(String),
    /// The input is invalid.
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    /// The request conflicts with the current state (a name in use, a lost write race).
    #[error("{0}")]
    Conflict(String),
    /// The service failed; not the caller's fault.
    #[error("{0}")]
    Internal(String),
}

/// A problem with one field of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field as the REST API names it: `name`, `body`, `tags[2]`, `version`.
    pub field: String,
    /// Stable snake_case code.
    pub code: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Error {
    /// An [`Error::Invalid`] for `field`.
    pub fn invalid(field: impl Into<String>, code: &str, message: impl Into<String>) -> Error {
        Error::Invalid(FieldError {
            field: field.into(),
            code: code.to_string(),
            message: message.into(),
        })
    }

    /// The template `id` does not exist.
    pub fn template_not_found(id: &str) -> Error {
        Error::NotFound(format!("template `{id}` does not exist"))
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Error {
        Error::Internal(format!("template storage failed: {e}"))
    }
}
