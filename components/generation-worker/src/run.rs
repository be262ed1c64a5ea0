//! One attempt of a job on the provider, from wherever the job stands: a new run submits the
//! prompt (once per attempt), a resumed one follows the provider task it already has, and a
//! job found storing downloads its image again. The task is followed by its id alone, never
//! by prompt text (C01), through polls and through what the provider's callbacks recorded
//! on the job; either alone completes the run. The image is downloaded and stored before
//! the job counts as done (C09).

use std::time::Duration;

use crate::heartbeat::Heartbeat;
use crate::outcome::{
    DOWNLOAD_FAILED, Failure, INTERNAL, Outcome, PROVIDER_ERROR, PROVIDER_FAILED, RUN_TIMEOUT,
};
use crate::png_size;
use crate::ports::{Clock, HttpClient, HttpRequest, Job, JobStatus, Jobs, QueueError};
use crate::provider::{FetchError, Provider, TaskReport, TaskStatus};
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
    /// The clock of every wait, keeping the lease alive.
    pub heartbeat: &'a Heartbeat<'a>,
    /// The worker holding the job's lease.
    pub worker: &'a str,
    pub poll_interval: Duration,
    pub run_timeout: Duration,
    /// Retries of the image download.
    pub backoff: Backoff,
    /// Where the provider posts the task's changes; empty for none.
    pub notify_hook: String,
}

impl Run<'_> {
    /// Runs a leased `job` to its outcome; the caller tells the queue.
    pub fn execute(&self, job: &Job) -> Outcome {
        let steps = || -> Step<String> {
            let image_url = match (job.status, &job.provider_image_url) {
                (JobStatus::Storing, Some(url)) => url.clone(),
                _ => self.run_task(job)?,
            };
            self.store(job, &image_url)
        };
        match steps() {
            Ok(image_id) => Outcome::Succeeded { image_id },
            Err(outcome) => outcome,
        }
    }

    /// Submits the prompt unless the job already has a task, follows the task to its image
    /// URL, and marks the job storing.
    fn run_task(&self, job: &Job) -> Step<String> {
        let now = self.heartbeat.now_ms();
        let task_id = match &job.provider_task_id {
            Some(task_id) => task_id.clone(),
            None => {
                let state = format!("{}:{}", job.id, job.attempts);
                let submitted = self.provider.submit(&job.prompt, &state, &self.notify_hook);
                let task_id = submitted.map_err(Outcome::Failed)?;
                self.record(job, &task_id, 0)?;
                task_id
            }
        };
        let started = job.run_started_at.unwrap_or(now);
        let deadline = started.saturating_add(millis(self.run_timeout));
        let image_url = self.poll(job, &task_id, deadline)?;
        self.jobs
            .storing(&job.id, self.worker, &image_url)
            .map_err(|e| self.interrupted(job, "marking the job storing", e))?;
        Ok(image_url)
    }

    /// Follows task `task_id` until SUCCESS (its image URL), FAILURE, CANCEL, a lost task,
    /// the end of this worker's hold on the job, or the deadline. Each round reads the job
    /// (callbacks, cancellation), fetches the task, then sleeps `poll_interval`; a deadline
    /// already past still gets one fetch, so a resumed run reconciles before it times out.
    fn poll(&self, job: &Job, task_id: &str, deadline: u64) -> Step<String> {
        let mut recorded = 0u8;
        let mut last_error: Option<String> = None;
        loop {
            let current = self.current(job)?;
            if let Some(done) = reported(&current, task_id) {
                return done;
            }
            match self.provider.fetch(task_id) {
                Ok(report) => {
                    if let Some(progress) = report.progress.filter(|p| *p > recorded) {
                        self.record(job, task_id, progress)?;
                        recorded = progress;
                    }
                    if let Some(done) = finished(&report, task_id) {
                        return done;
                    }
                }
                Err(FetchError::Transient(message)) => last_error = Some(message),
                Err(FetchError::Gone(message)) => {
                    let message = format!("the provider no longer has task `{task_id}`: {message}");
                    return Err(Outcome::Failed(Failure::retryable(PROVIDER_ERROR, message)));
                }
            }
            let now = self.heartbeat.now_ms();
            if now >= deadline {
                let progress = recorded.max(current.progress);
                return Err(self.timed_out(task_id, progress, last_error));
            }
            self.heartbeat.sleep(
                self.poll_interval
                    .min(Duration::from_millis(deadline - now)),
            );
        }
    }

    /// The job as it stands, while it is still this worker's: a final job, or one leased to
    /// another worker, ends the run there. A failed read is no reason to stop: the next
    /// round reads again.
    fn current(&self, job: &Job) -> Step<Job> {
        self.heartbeat.check()?;
        match self.jobs.get(&job.id) {
            Ok(current) if current.status.is_final() => Err(Outcome::Stopped(Box::new(current))),
            Ok(current) if current.lease_owner.as_deref() != Some(self.worker) => {
                Err(Outcome::Stopped(Box::new(current)))
            }
            Ok(current) => Ok(current),
            Err(error) => {
                eprintln!(
                    "generation-worker: reading job failed job.id={} error={error}",
                    job.id
                );
                Ok(job.clone())
            }
        }
    }

    fn record(&self, job: &Job, task_id: &str, progress: u8) -> Step<()> {
        self.jobs
            .progress(&job.id, self.worker, task_id, progress)
            .map(drop)
            .map_err(|e| self.interrupted(job, "recording progress", e))
    }

    /// Downloads the image and stores it; returns the image id.
    fn store(&self, job: &Job, image_url: &str) -> Step<String> {
        self.heartbeat.check()?;
        let bytes = self.download(image_url)?;
        let (width, height) = png_size::dimensions(&bytes).map_err(|e| {
            let message = format!("the image at {image_url} is not a PNG: {e}");
            Outcome::Failed(Failure::new(DOWNLOAD_FAILED, message))
        })?;
        self.heartbeat.check()?;
        self.jobs
            .store_image(&job.id, PNG, width, height, &bytes)
            .map_err(|e| self.interrupted(job, "storing the image", e))
    }

    /// The image's bytes, retried on any failure before the job counts as done (C09); after
    /// the retries the attempt ends and the job stays storing for the next one.
    fn download(&self, url: &str) -> Step<Vec<u8>> {
        let attempted = retry::send(
            self.http,
            self.heartbeat,
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
        Err(Outcome::Failed(Failure::retryable(
            DOWNLOAD_FAILED,
            message,
        )))
    }

    /// A queue call failed: when the job is no longer this worker's the run stops there,
    /// otherwise the attempt fails as `internal` and is retried.
    fn interrupted(&self, job: &Job, what: &str, error: QueueError) -> Outcome {
        match self.jobs.get(&job.id) {
            Ok(current)
                if current.status.is_final()
                    || current.lease_owner.as_deref() != Some(self.worker) =>
            {
                self.heartbeat.mark_lost(current.clone());
                Outcome::Stopped(Box::new(current))
            }
            _ => Outcome::Failed(Failure::retryable(
                INTERNAL,
                format!("{what} of job `{}` failed: {error}", job.id),
            )),
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
        Outcome::Failed(Failure::new(RUN_TIMEOUT, message))
    }
}

/// The end of the task as the provider's callbacks recorded it on the job, if they did.
fn reported(job: &Job, task_id: &str) -> Option<Step<String>> {
    if job.provider_task_id.as_deref() != Some(task_id) {
        return None;
    }
    let report = TaskReport {
        status: TaskStatus::parse(job.provider_status.as_deref()?),
        progress: None,
        image_url: job.provider_image_url.clone(),
        fail_reason: job.provider_fail_reason.clone(),
    };
    finished(&report, task_id)
}

/// The end of the task a report tells of, if it tells of one.
fn finished(report: &TaskReport, task_id: &str) -> Option<Step<String>> {
    match report.status {
        TaskStatus::Success => Some(report.image_url.clone().ok_or_else(|| {
            let message =
                format!("the provider reported task `{task_id}` SUCCESS without an imageUrl");
            Outcome::Failed(Failure::retryable(PROVIDER_ERROR, message))
        })),
        TaskStatus::Failure => {
            let reason = report.fail_reason.clone().unwrap_or_else(|| {
                format!("the provider reported task `{task_id}` FAILURE without a reason")
            });
            Some(Err(Outcome::Failed(Failure::new(PROVIDER_FAILED, reason))))
        }
        TaskStatus::Cancel => {
            let message = format!("the provider canceled task `{task_id}`");
            Some(Err(Outcome::Failed(Failure::new(PROVIDER_FAILED, message))))
        }
        _ => None,
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
