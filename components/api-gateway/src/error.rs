//! Every error a caller can see, and the one place where service errors (the WIT `error`
//! variants) become HTTP statuses and stable codes.
//!
//! A trapped or timed-out service call is not here: a trap in a linked component traps the
//! gateway too, so the runtime answers for it (the host with a 5xx) and the gateway never
//! sees a value to map.

use serde_json::{Value, json};

use crate::model::{FieldError, Issue};
use crate::response::ApiResponse;

/// A failed service call, whichever service it came from (their `error` variants share
/// these cases; each service uses a subset).
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceError {
    NotFound(String),
    Invalid(FieldError),
    Conflict(String),
    /// The queue is full; retry after this many seconds.
    QueueFull(u32),
    /// The prompt service refused a prompt: every issue.
    Rejected(Vec<Issue>),
    Internal(String),
}

/// What a failed call was about: it names the 404 code and how `invalid` is reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Subject<'a> {
    Template(&'a str),
    /// A template id and a version number.
    Version(&'a str, u32),
    /// A template id and a label name.
    Label(&'a str, &'a str),
    Job(&'a str),
    Image(&'a str),
    /// An experiment, by template id.
    Experiment(&'a str),
    /// A listing: an `invalid` error concerns a query parameter.
    Listing,
    /// Any other call: a `not-found` is reported with the service's words.
    Other,
}

impl Subject<'_> {
    /// The subject a `not-found` is about once it is known whether the template exists:
    /// a missing version or label of a missing template is a missing template.
    pub fn narrowed(self, template_exists: bool) -> Self {
        match self {
            Subject::Version(id, _) | Subject::Label(id, _) if !template_exists => {
                Subject::Template(id)
            }
            other => other,
        }
    }
}

/// An error response: status, body fields and extra headers.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    /// Every problem of a refused prompt (empty otherwise).
    pub issues: Vec<Issue>,
    /// Lower-case header names (`retry-after`, `allow`, `www-authenticate`).
    pub headers: Vec<(String, String)>,
}

impl ApiError {
    /// An error without a field.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            field: None,
            issues: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Sets the field the error concerns.
    pub fn on(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    fn with_header(mut self, name: &str, value: impl Into<String>) -> ApiError {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// 400: the body is not JSON at all.
    pub fn not_json(detail: &str) -> ApiError {
        ApiError::new(
            400,
            "malformed_json",
            format!("the body is not valid JSON ({detail}); send one JSON object"),
        )
    }

    /// 400: a value of the wrong JSON type; `field` is `None` for the whole body.
    pub fn wrong_type(field: Option<&str>, expected: &str, found: &str) -> ApiError {
        let subject = field.map_or("the body".to_string(), |f| format!("`{f}`"));
        let error = ApiError::new(
            400,
            "malformed_json",
            format!("{subject} must be {expected}, not {found}"),
        );
        match field {
            Some(field) => error.on(field),
            None => error,
        }
    }

    /// 400: a field the endpoint does not know.
    pub fn unknown_field(field: &str, allowed: &[&str]) -> ApiError {
        let known = if allowed.is_empty() {
            "this body takes no fields".to_string()
        } else {
            let names: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
            format!("the fields here are {}", names.join(", "))
        };
        ApiError::new(
            400,
            "unknown_field",
            format!("unknown field `{field}`; {known}"),
        )
        .on(field)
    }

    /// 400: a bad query parameter `name`.
    pub fn invalid_query(name: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_query", message).on(format!("query.{name}"))
    }

    /// 401: no key in the request.
    pub fn unauthenticated(message: &str) -> ApiError {
        ApiError::new(401, "unauthenticated", message).with_header("www-authenticate", "Bearer")
    }

    /// 401: a key that is not known.
    pub fn invalid_api_key() -> ApiError {
        ApiError::new(
            401,
            "invalid_api_key",
            "the API key is not valid; ask an admin for a key (POST /api/keys)",
        )
        .with_header("www-authenticate", "Bearer error=\"invalid_token\"")
    }

    /// 403: the key's tier does not allow the request.
    pub fn forbidden(what: &str) -> ApiError {
        ApiError::new(
            403,
            "forbidden",
            format!("{what} needs an admin key; this key's tier is not admin"),
        )
    }

    /// 404: no route serves the path.
    pub fn no_route(path: &str) -> ApiError {
        ApiError::new(
            404,
            "not_found",
            format!("no endpoint at `{path}`; see /api/openapi.json for the API"),
        )
    }

    /// 404 for a missing resource, with its specific code.
    pub fn not_found(subject: Subject<'_>) -> ApiError {
        let (code, message) = match subject {
            Subject::Template(id) => (
                "template_not_found",
                format!("no template `{id}`; list templates with GET /api/templates"),
            ),
            Subject::Version(id, n) => (
                "version_not_found",
                format!("template `{id}` has no version {n}; see GET /api/templates/{id}/versions"),
            ),
            Subject::Label(id, label) => (
                "label_not_found",
                format!("template `{id}` has no label `{label}`; see its `labels`"),
            ),
            Subject::Job(id) => (
                "job_not_found",
                format!("no job `{id}` for this key; list yours with GET /api/jobs"),
            ),
            Subject::Image(id) => (
                "image_not_found",
                format!("no image `{id}` for this key; list yours with GET /api/images"),
            ),
            Subject::Experiment(id) => (
                "experiment_not_found",
                format!(
                    "template `{id}` has no experiment; start one with PUT /api/experiments/{id}"
                ),
            ),
            Subject::Listing | Subject::Other => ("not_found", "nothing found".to_string()),
        };
        ApiError::new(404, code, message)
    }

    /// 405 with the methods the path allows.
    pub fn method_not_allowed(method: &str, path: &str, allow: &[&str]) -> ApiError {
        let allow = allow.join(", ");
        ApiError::new(
            405,
            "method_not_allowed",
            format!("`{path}` does not accept {method}; it accepts {allow}"),
        )
        .with_header("allow", allow)
    }

    /// 413: a body over the limit.
    pub fn payload_too_large(limit: u64) -> ApiError {
        ApiError::new(
            413,
            "payload_too_large",
            format!("the body is over the limit of {limit} bytes; send a smaller one"),
        )
    }

    /// 415: a body that is not JSON by its content type.
    pub fn unsupported_media_type(content_type: &str) -> ApiError {
        ApiError::new(
            415,
            "unsupported_media_type",
            format!("content type `{content_type}` is not accepted; send `application/json`"),
        )
    }

    /// 422: a required field is absent.
    pub fn missing_field(field: &str, hint: &str) -> ApiError {
        ApiError::new(
            422,
            "missing_field",
            format!("`{field}` is required: {hint}"),
        )
        .on(field)
    }

    /// 422: a field whose value the gateway refuses, with a specific code.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(422, code, message).on(field)
    }

    /// 429: the key used its requests of this minute.
    pub fn rate_limited(limit: u32, retry_after: u64) -> ApiError {
        ApiError::new(
            429,
            "rate_limited",
            format!("this key's limit of {limit} requests a minute is used up; retry after {retry_after} s"),
        )
        .with_header("retry-after", retry_after.to_string())
    }

    /// 500: the gateway or a service failed; not the caller's fault.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "internal", message)
    }

    /// 503: a dependency is not available.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(503, "unavailable", message)
    }

    /// The error a failed service call about `subject` becomes.
    pub fn from_service(error: ServiceError, subject: Subject<'_>) -> ApiError {
        match error {
            ServiceError::NotFound(detail)
                if matches!(subject, Subject::Listing | Subject::Other) =>
            {
                ApiError::new(404, "not_found", detail)
            }
            ServiceError::NotFound(_) => ApiError::not_found(subject),
            ServiceError::Invalid(e) if subject == Subject::Listing => {
                ApiError::invalid_query(query_name(&e.field), e.message)
            }
            ServiceError::Invalid(e) => ApiError::new(422, &e.code, e.message).on(e.field),
            ServiceError::Conflict(message) => ApiError::new(409, "conflict", message),
            ServiceError::QueueFull(seconds) => queue_full(seconds),
            ServiceError::Rejected(issues) => rejected(issues),
            ServiceError::Internal(message) => ApiError::internal(message),
        }
    }

    /// The JSON body: `{"error": {"code", "message", "field", "issues"?}}`.
    pub fn body(&self) -> Value {
        let mut error = json!({
            "code": self.code,
            "message": self.message,
            "field": self.field,
        });
        if !self.issues.is_empty() {
            error["issues"] = self.issues.iter().map(issue_json).collect();
        }
        json!({ "error": error })
    }

    /// The response: status, headers and JSON body.
    pub fn into_response(self) -> ApiResponse {
        let body = self.body();
        ApiResponse::json(self.status, body).with_headers(&self.headers)
    }
}

/// The query parameter a service's field name stands for.
fn query_name(field: &str) -> &str {
    let field = field.strip_prefix("query.").unwrap_or(field);
    match field {
        "text" => "q",
        "template_id" | "template-id" => "template",
        "job_id" | "job-id" => "job",
        other => other,
    }
}

fn queue_full(seconds: u32) -> ApiError {
    let seconds = seconds.max(1);
    ApiError::new(
        429,
        "queue_full",
        format!("the job queue is full; retry after {seconds} s"),
    )
    .with_header("retry-after", seconds.to_string())
}

/// 422 with every issue; `code`/`message`/`field` are the first issue's.
fn rejected(issues: Vec<Issue>) -> ApiError {
    let Some(first) = issues.first() else {
        return ApiError::invalid("prompt", "invalid_prompt", "the prompt was refused");
    };
    let mut error = ApiError::invalid(&first.field, &first.code, first.message.clone());
    error.issues = issues;
    error
}

fn issue_json(issue: &Issue) -> Value {
    json!({
        "code": issue.code,
        "message": issue.message,
        "field": issue.field,
        "position": issue.position,
    })
}

#[cfg(test)]
mod tests;
