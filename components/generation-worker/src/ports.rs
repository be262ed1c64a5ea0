//! The worker's view of the world as traits: outbound HTTP, the job queue and image store,
//! time, and wake-ups. The Wasm glue implements them on Spin; tests implement them with fakes.

use std::time::Duration;

/// The HTTP methods the worker sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// An outbound HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A `GET` of `url` with no headers.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `POST` of a JSON `body` to `url`.
    pub fn post_json(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        HttpRequest {
            method: Method::Post,
            url: url.into(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// An HTTP response with its whole body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// No response arrived: the connection failed, was refused or reset, or the host denied it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

/// Sends HTTP requests.
pub trait HttpClient {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// A job's status, as in `promptmesh:jobs/types.job-status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Storing,
    Succeeded,
    Failed,
    Canceled,
}

impl JobStatus {
    /// The status as the REST API and notifications spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Storing => "storing",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
        }
    }

    /// Whether the job can no longer change.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Canceled
        )
    }
}

/// The fields of a queue job the worker uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub prompt: String,
    pub status: JobStatus,
    /// 0 to 100.
    pub progress: u8,
    pub attempts: u32,
    pub template_id: Option<String>,
    pub template_version: Option<u32>,
    pub callback_url: Option<String>,
    pub provider_task_id: Option<String>,
    pub image_id: Option<String>,
    pub failure_reason: Option<String>,
    pub failure_message: Option<String>,
    /// Unix milliseconds.
    pub created_at: u64,
    /// Unix milliseconds.
    pub updated_at: u64,
    /// Unix milliseconds, once final.
    pub finished_at: Option<u64>,
}

/// The queue's errors, as in `promptmesh:jobs/types.error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid `{field}` ({code}): {message}")]
    Invalid {
        field: String,
        code: String,
        message: String,
    },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("queue full, retry after {0} s")]
    QueueFull(u32),
    #[error("internal: {0}")]
    Internal(String),
}

/// The operations of `promptmesh:jobs/queue` and `promptmesh:jobs/images` the worker calls.
pub trait Jobs {
    /// The first queued job, now running, or `None`.
    fn lease(&self, worker: &str) -> Result<Option<Job>, QueueError>;
    fn get(&self, id: &str) -> Result<Job, QueueError>;
    /// Records the provider's task id and the progress (0 to 100).
    fn progress(&self, id: &str, provider_task_id: &str, progress: u8) -> Result<Job, QueueError>;
    fn storing(&self, id: &str) -> Result<Job, QueueError>;
    fn succeed(&self, id: &str, image_id: &str) -> Result<Job, QueueError>;
    fn fail(&self, id: &str, reason: &str, message: &str) -> Result<Job, QueueError>;
    /// How many jobs are queued.
    fn queued(&self) -> Result<u32, QueueError>;
    /// Stores the image of job `job_id`; returns the image id.
    fn store_image(
        &self,
        job_id: &str,
        content_type: &str,
        width: u32,
        height: u32,
        bytes: &[u8],
    ) -> Result<String, QueueError>;
}

/// Time, and the randomness of backoff jitter, so tests can script both.
pub trait Clock {
    /// Unix milliseconds.
    fn now_ms(&self) -> u64;
    fn sleep(&self, duration: Duration);
    /// A number in `[0, 1)` that spreads retries apart.
    fn jitter(&self) -> f64;
}

/// Publishes wake-up messages.
pub trait Wakeups {
    fn publish(&self, address: &str, channel: &str, payload: &[u8]) -> Result<(), String>;
}
