//! Problems found in a template or a prompt, in the shape the WIT contract reports them.

use std::fmt;

/// Stable code of an [`Issue`]; [`Code::as_str`] is the snake_case form callers match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// A placeholder of the template has no value.
    MissingVariable,
    /// A value was given for a name the template does not use.
    UnknownVariable,
    /// A value is empty, blank, given twice, or would form `{{` / `}}`.
    InvalidVariable,
    /// The template body is malformed.
    InvalidTemplate,
    /// The normalised prompt has more characters than the policy allows.
    PromptTooLong,
    /// The prompt contains a word or phrase of the banned list.
    BannedWord,
    /// A `--name` that is not a known Midjourney parameter.
    UnknownParameter,
    /// The same parameter (or two of its aliases) given twice.
    DuplicateParameter,
    /// A parameter's value is malformed or out of range for the model.
    InvalidParameterValue,
    /// A known parameter that the chosen model does not accept.
    ParameterNotSupported,
    /// Parameters that cannot be used together (`--v` with `--niji`, `--cw` without `--cref`).
    ConflictingParameters,
    /// A `::` weight that is not a number, follows no text, or a total weight not above 0.
    InvalidWeight,
    /// No text before the parameters.
    EmptyPrompt,
}

impl Code {
    /// The snake_case code of the contract, e.g. `missing_variable`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::MissingVariable => "missing_variable",
            Code::UnknownVariable => "unknown_variable",
            Code::InvalidVariable => "invalid_variable",
            Code::InvalidTemplate => "invalid_template",
            Code::PromptTooLong => "prompt_too_long",
            Code::BannedWord => "banned_word",
            Code::UnknownParameter => "unknown_parameter",
            Code::DuplicateParameter => "duplicate_parameter",
            Code::InvalidParameterValue => "invalid_parameter_value",
            Code::ParameterNotSupported => "parameter_not_supported",
            Code::ConflictingParameters => "conflicting_parameters",
            Code::InvalidWeight => "invalid_weight",
            Code::EmptyPrompt => "empty_prompt",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem: its code, the request field it concerns, where it is and how to fix it.
#[derive(Clone, Debug, PartialEq)]
pub struct Issue {
    pub code: Code,
    /// What is wrong and how to fix it (lower case, no final period).
    pub message: String,
    /// `prompt`, `body` or `variables.<name>`.
    pub field: String,
    /// Character (Unicode scalar value) offset in the normalised prompt, or in the body for
    /// template problems.
    pub position: usize,
}

impl Issue {
    /// An issue about the normalised prompt.
    pub fn prompt(code: Code, position: usize, message: impl Into<String>) -> Self {
        Self::new(code, "prompt".to_owned(), position, message)
    }

    /// An issue about the template body.
    pub fn body(code: Code, position: usize, message: impl Into<String>) -> Self {
        Self::new(code, "body".to_owned(), position, message)
    }

    /// An issue about the variable `name` (field `variables.<name>`).
    pub fn variable(code: Code, name: &str, position: usize, message: impl Into<String>) -> Self {
        Self::new(code, format!("variables.{name}"), position, message)
    }

    fn new(code: Code, field: String, position: usize, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field,
            position,
        }
    }
}

/// Why a prompt was refused: every issue, and the normalised text their positions refer to
/// (empty when rendering the template failed).
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    pub text: String,
    pub issues: Vec<Issue>,
}

impl Rejection {
    /// The codes of the issues, in order; handy for callers and tests.
    pub fn codes(&self) -> Vec<&'static str> {
        self.issues.iter().map(|i| i.code.as_str()).collect()
    }
}

/// `n` followed by `unit`, plural when `n` is not 1 (`1 character`, `3 characters`).
pub(crate) fn count(n: usize, unit: &str) -> String {
    if n == 1 {
        format!("{n} {unit}")
    } else {
        format!("{n} {unit}s")
    }
}
