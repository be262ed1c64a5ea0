//! One job's run on the provider: submit, poll until a final state (recording progress,
//! watching for cancellation, bounded by the run timeout), then download and store the image.
//! The provider's task is followed by its id alone, never by prompt text (C01).

use std::time::Duration;

use crate::outcome::{
    DOWNLOAD_FAILED, Failure, INTERNAL, Outcome, PROVIDER_ERROR, PROVIDER_FAILED, TIMEOUT,
};
use crate::png_size;
use crate::ports::{Clock, HttpClient, HttpRequest, Job, Jobs, QueueError};
use crate::provider::{FetchError, Provider, TaskStatus};
use crate::retry::{self, Backoff, RetryOn, describe};

/// The content type of stored images.
pub const PNG: &str = "image/png";

/// An early end of a run.
type Step<T> = Result<T, Outcome>;

/// What a run needs.
pub struct Run<'a> {
    pub provider: Provider<'a>,
    pub http: &'a dyn HttpClient,
    pub jobs: &'a dyn Jobs,
    pub clock: &'a dyn Clock,
    pub poll_interval: Duration,
    pub run_timeout: Duration,
    /// Retries of the image download.
    pub backoff: Backoff,
}

impl Run<'_> {
    /// Runs a leased `job` to its outcome; the caller tells the queue.
    pub fn execute(&self, job: &Job) -> Outcome {
        let deadline = self.clock.now_ms().saturating_add(millis(self.run_timeout));
        let steps = || -> Step<String> {
            let task_id = self
                .provider
                .submit(&job.prompt, &job.id)
                .map_err(Outcome::Failed)?;
            self.record(job, &task_id, 0)?;
            let image_url = self.poll(job, &task_id, deadline)?;
            self.store(job, &image_url)
        };
        match steps() {
            Ok(image_id) => Outcome::Succeeded { image_id },
            Err(outcome) => outcome,
        }
    }

    /// Polls task `task_id` every `poll_interval` until SUCCESS (its image URL), FAILURE,
    /// CANCEL, a lost task, cancellation of the job, or the deadline.
    fn poll(&self, job: &Job, task_id: &str, deadline: u64) -> Step<String> {
        let mut recorded = 0u8;
        let mut last_error: Option<String> = None;
        loop {
            let now = self.clock.now_ms();
            if now >= deadline {
                return Err(self.timed_out(task_id, recorded, last_error));
            }
            self.clock.sleep(
                self.poll_interval
                    .min(Duration::from_millis(deadline - now)),
            );
            self.stop_if_final(job)?;

            let report = match self.provider.fetch(task_id) {
                Ok(report) => report,
                Err(FetchError::Transient(message)) => {
                    last_error = Some(message);
                    continue;
                }
                Err(FetchError::Gone(message)) => {
                    let message = format!("the provider no longer has task `{task_id}`: {message}");
                    return Err(failed(PROVIDER_ERROR, message));
                }
            };
            if let Some(progress) = report.progress.filter(|p| *p > recorded) {
                self.record(job, task_id, progress)?;
                recorded = progress;
            }
            match report.status {
                TaskStatus::Success => {
                    return report.image_url.ok_or_else(|| {
                        let message = format!(
                            "the provider reported task `{task_id}` SUCCESS without an imageUrl"
                        );
                        failed(PROVIDER_ERROR, message)
                    });
                }
                TaskStatus::Failure => {
                    let reason = report.fail_reason.unwrap_or_else(|| {
                        format!("the provider reported task `{task_id}` FAILURE without a reason")
                    });
                    return Err(failed(PROVIDER_FAILED, reason));
                }
                TaskStatus::Cancel => {
                    let message = format!("the provider canceled task `{task_id}`");
                    return Err(failed(PROVIDER_FAILED, message));
                }
                _ => {}
            }
        }
    }

    /// Ends the run when the job became final elsewhere (canceled). A failed read is not a
    /// reason to stop: the next poll reads again.
    fn stop_if_final(&self, job: &Job) -> Step<()> {
        match self.jobs.get(&job.id) {
            Ok(current) if current.status.is_final() => Err(Outcome::Stopped(current)),
            Ok(_) => Ok(()),
            Err(error) => {
                eprintln!(
                    "generation-worker: reading job failed job.id={} error={error}",
                    job.id
                );
                Ok(())
            }
        }
    }

    fn record(&self, job: &Job, task_id: &str, progress: u8) -> Step<()> {
        self.jobs
            .progress(&job.id, task_id, progress)
            .map(drop)
            .map_err(|e| self.interrupted(job, "recording progress", e))
    }

    /// Marks the job storing, downloads the image and stores it; returns the image id.
    fn store(&self, job: &Job, image_url: &str) -> Step<String> {
        self.jobs
            .storing(&job.id)
            .map_err(|e| self.interrupted(job, "marking the job storing", e))?;
        let bytes = self.download(image_url)?;
        let (width, height) = png_size::dimensions(&bytes).map_err(|e| {
            failed(
                DOWNLOAD_FAILED,
                format!("the image at {image_url} is not a PNG: {e}"),
            )
        })?;
        self.jobs
            .store_image(&job.id, PNG, width, height, &bytes)
            .map_err(|e| self.interrupted(job, "storing the image", e))
    }

    /// The image's bytes, retried on any failure before the job counts as done (C09).
    fn download(&self, url: &str) -> Step<Vec<u8>> {
        let attempted = retry::send(
            self.http,
            self.clock,
            self.backoff,
            RetryOn::AnyFailure,
            &|_| HttpRequest::get(url),
        );
        let attempts = attempted.attempts;
        let problem = match attempted.result {
            Ok(response) if response.is_success() => return Ok(response.body),
            Ok(response) => describe(&response),
            Err(error) => error.to_string(),
        };
        let message = format!("downloading {url} failed after {attempts} attempts: {problem}");
        Err(failed(DOWNLOAD_FAILED, message))
    }

    /// A queue call failed: when the job became final elsewhere the run stops there,
    /// otherwise the job fails as `internal`.
    fn interrupted(&self, job: &Job, what: &str, error: QueueError) -> Outcome {
        match self.jobs.get(&job.id) {
            Ok(current) if current.status.is_final() => Outcome::Stopped(current),
            _ => failed(
                INTERNAL,
                format!("{what} of job `{}` failed: {error}", job.id),
            ),
        }
    }

    fn timed_out(&self, task_id: &str, progress: u8, last_error: Option<String>) -> Outcome {
        let seconds = self.run_timeout.as_secs_f64();
        let mut message = format!(
            "the provider reached no final state for task `{task_id}` within {seconds} s \
             (last progress {progress}%)"
        );
        if let Some(error) = last_error {
            message.push_str(&format!("; last fetch error: {error}"));
        }
        failed(TIMEOUT, message)
    }
}

fn failed(reason: &'static str, message: impl Into<String>) -> Outcome {
    Outcome::Failed(Failure::new(reason, message))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
