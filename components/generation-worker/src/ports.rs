//! The worker's view of the world as traits: outbound HTTP, the job queue and image store,
//! time, and wake-ups. The Wasm glue implements them on Spin; tests implement them with fakes.

use std::time::Duration;

/// The HTTP methods the worker sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// How long a request may wait for its answer unless it says otherwise: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// An outbound HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The longest wait for the connection and for the first byte of the answer; a silent
    /// peer is a transport error after it.
    pub timeout: Duration,
}

impl HttpRequest {
    /// A `GET` of `url` with no headers.
    pub fn get(url: impl Into<String>) -> Self {
        HttpRequest {
            method: Method::Get,
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// A `POST` of a JSON `body` to `url`.
    pub fn post_json(url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        HttpRequest {
            method: Method::Post,
            url: url.into(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: body.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the wait for the answer.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
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
    pub callback_url: Option<String>,
    pub provider_task_id: Option<String>,
    pub image_id: Option<String>,
    pub failure_reason: Option<String>,
    pub failure_message: Option<String>,
    /// Unix milliseconds, once final.
    pub finished_at: Option<u64>,
    /// Who holds the job.
    pub lease_owner: Option<String>,
    /// Unix milliseconds: when the current provider task's run began.
    pub run_started_at: Option<u64>,
    /// The task status the provider's callbacks last reported.
    pub provider_status: Option<String>,
    pub provider_image_url: Option<String>,
    pub provider_fail_reason: Option<String>,
}

/// A notification to deliver, as `promptmesh:jobs/types.notification` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// `evt_...`, the same for every delivery.
    pub id: String,
    pub job_id: String,
    pub url: String,
    /// The JSON body, the same bytes for every delivery.
    pub body: String,
    /// Deliveries made before this one.
    pub attempts: u32,
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
/// Changes to a job name the `worker` holding its lease.
pub trait Jobs {
    /// The first available job, leased to `worker` for `lease_ms`, or `None`.
    fn lease(&self, worker: &str, lease_ms: u32) -> Result<Option<Job>, QueueError>;
    fn renew(&self, id: &str, worker: &str, lease_ms: u32) -> Result<Job, QueueError>;
    fn get(&self, id: &str) -> Result<Job, QueueError>;
    /// Records the provider's task id (once per attempt) and the progress (0 to 100).
    fn progress(
        &self,
        id: &str,
        worker: &str,
        provider_task_id: &str,
        progress: u8,
    ) -> Result<Job, QueueError>;
    fn storing(&self, id: &str, worker: &str, image_url: &str) -> Result<Job, QueueError>;
    fn succeed(&self, id: &str, worker: &str, image_id: &str) -> Result<Job, QueueError>;
    fn fail(&self, id: &str, worker: &str, reason: &str, message: &str) -> Result<Job, QueueError>;
    /// Ends the attempt for a reason worth another try after `delay_ms`.
    fn retry(
        &self,
        id: &str,
        worker: &str,
        reason: &str,
        message: &str,
        delay_ms: u32,
    ) -> Result<Job, QueueError>;
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
    /// Up to `limit` notifications that are due, held for `worker`.
    fn claim_notifications(
        &self,
        worker: &str,
        limit: u32,
    ) -> Result<Vec<Notification>, QueueError>;
    fn notification_delivered(&self, id: &str) -> Result<(), QueueError>;
    fn notification_failed(&self, id: &str, error: &str) -> Result<(), QueueError>;
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
