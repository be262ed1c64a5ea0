//! How a job run ends, and the stable failure reasons recorded on the job.

use std::time::Duration;

use crate::ports::Job;

/// The provider's queue is full (code 23), or it kept answering 429: retried later.
pub const PROVIDER_BUSY: &str = "provider_busy";
/// The provider refused the prompt for a banned word (code 24): final.
pub const MODERATION: &str = "moderation";
/// The provider could not be reached, answered 5xx, or lost the task: retried later; or it
/// refused the submission with another code, or answered nonsense: final.
pub const PROVIDER_ERROR: &str = "provider_error";
/// The provider reported the task FAILURE (or CANCEL): final.
pub const PROVIDER_FAILED: &str = "provider_failed";
/// The provider reached no final state within `run_timeout_seconds`: final.
pub const RUN_TIMEOUT: &str = "run_timeout";
/// The image could not be downloaded, or is not a PNG: retried later while storing.
pub const DOWNLOAD_FAILED: &str = "download_failed";
/// The queue or image store failed while the job ran: retried later.
pub const INTERNAL: &str = "internal";

/// Whether a failure ends the job or only this attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The job fails for good.
    Never,
    /// Another attempt may succeed; `after` is what the provider asked to wait, if it did.
    Later { after: Option<Duration> },
}

/// Why a run failed: a stable reason from this module, a message for people, and whether
/// another attempt is worth it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: &'static str,
    pub message: String,
    pub retry: Retry,
}

impl Failure {
    /// A failure that ends the job.
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Failure {
            reason,
            message: message.into(),
            retry: Retry::Never,
        }
    }

    /// A failure of this attempt only.
    pub fn retryable(reason: &'static str, message: impl Into<String>) -> Self {
        Failure {
            retry: Retry::Later { after: None },
            ..Failure::new(reason, message)
        }
    }

    /// A failure of this attempt after which the provider asked to wait `after`.
    pub fn retry_after(mut self, after: Option<std::time::Duration>) -> Self {
        if let Retry::Later { after: asked } = &mut self.retry {
            *asked = after;
        }
        self
    }
}

/// The end of a run, before the queue is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The image is stored as `image_id`.
    Succeeded {
        image_id: String,
    },
    Failed(Failure),
    /// The job is no longer this worker's: it reached a final state elsewhere (canceled),
    /// or the lease passed to another worker. Here is how it stands.
    Stopped(Box<Job>),
}
