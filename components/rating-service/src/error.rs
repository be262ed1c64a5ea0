//! The errors a caller sees, one-to-one with the WIT `error` variant.

use promptmesh_guest::db::DbError;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The template has no experiment; the message names the template.
    #[error("{0}")]
    NotFound(String),
    /// The input is invalid.
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    /// The service failed; not the caller's fault.
    #[error("{0}")]
    Internal(String),
}

/// A problem with one field of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field as the REST API names it: `score`, `feedback`, `arms`, `arms[1].weight`.
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

    /// Template `id` has no experiment.
    pub fn no_experiment(id: &str) -> Error {
        Error::NotFound(format!("template `{id}` has no experiment"))
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Error {
        Error::Internal(format!("rating storage failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_failures_are_internal_and_say_where() {
        let error = Error::from(DbError::Failed("disk I/O error".into()));
        assert_eq!(
            error,
            Error::Internal("rating storage failed: database error: disk I/O error".into())
        );
    }

    #[test]
    fn a_missing_experiment_names_its_template() {
        assert_eq!(
            Error::no_experiment("tpl_x").to_string(),
            "template `tpl_x` has no experiment"
        );
    }
}
