//! How a job run ends, and the stable failure reasons recorded on the job.

use crate::ports::Job;

/// The provider's queue is full (code 23).
pub const PROVIDER_BUSY: &str = "provider_busy";
/// The provider refused the prompt for a banned word (code 24).
pub const MODERATION: &str = "moderation";
/// The provider refused or could not take the submission, or lost the task.
pub const PROVIDER_ERROR: &str = "provider_error";
/// The provider reported the task FAILURE (or CANCEL).
pub const PROVIDER_FAILED: &str = "provider_failed";
/// The provider reached no final state within `run_timeout_seconds`.
pub const TIMEOUT: &str = "timeout";
/// The image could not be downloaded, or is not a PNG.
pub const DOWNLOAD_FAILED: &str = "download_failed";
/// The queue or image store failed while the job ran.
pub const INTERNAL: &str = "internal";

/// Why a job failed: a stable reason from this module and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Failure {
            reason,
            message: message.into(),
        }
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
    /// The job reached a final state elsewhere (it was canceled); here is how it stands.
    Stopped(Job),
}
