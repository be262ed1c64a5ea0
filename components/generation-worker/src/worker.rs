//! One wake-up of the worker: lease the first available job (new, or stranded by a worker
//! that died; the queue fails what waited too long first), run one attempt of it, record
//! how it ended, deliver the notifications that are due, and wake the next worker while jobs
//! still wait.

use std::time::Duration;

use promptmesh_guest::hook;

use crate::config::Config;
use crate::heartbeat::Heartbeat;
use crate::outcome::{Failure, Outcome, Retry};
use crate::ports::{Clock, HttpClient, Job, Jobs, Notification, QueueError, Wakeups};
use crate::provider::Provider;
use crate::retry::DEFAULT_BACKOFF;
use crate::run::Run;
use crate::webhook;

/// The payload of the wake-ups a worker publishes; workers lease by priority, so the
/// payload only says "look at the queue".
pub const WAKE_PAYLOAD: &[u8] = b"next";
/// Notifications one wake-up delivers at most, so that a backlog of dead receivers does not
/// keep a worker from jobs.
pub const DELIVERIES_PER_WAKE: u32 = 20;
/// The longest wait before a retried attempt.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(600);

/// What a worker needs from its world.
pub struct Worker<'a> {
    pub config: &'a Config,
    pub http: &'a dyn HttpClient,
    pub jobs: &'a dyn Jobs,
    pub clock: &'a dyn Clock,
    pub wakeups: &'a dyn Wakeups,
    /// Identifies this worker on its leases; fresh per wake-up.
    pub name: &'a str,
}

/// What one wake-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// No job was available.
    Idle,
    /// The leased job's attempt ended; here is how the job stands (final, back in the
    /// queue for a retry, or taken over by another worker).
    Ran(Job),
}

/// The queue failed around a run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    #[error("leasing a job failed: {0}")]
    Lease(QueueError),
    #[error("recording the end of job `{id}`'s attempt failed: {error}")]
    Finish { id: String, error: QueueError },
}

impl Worker<'_> {
    /// Handles one wake-up.
    pub fn handle(&self) -> Result<Handled, WorkerError> {
        let lease_ms = u32::try_from(self.config.lease.as_millis()).unwrap_or(u32::MAX);
        let leased = self
            .jobs
            .lease(self.name, lease_ms)
            .map_err(WorkerError::Lease)?;
        let handled = match leased {
            Some(job) => {
                // The job's `running` notification goes out before the run takes its time.
                self.deliver_due();
                Handled::Ran(self.attempt(&job)?)
            }
            None => Handled::Idle,
        };
        self.deliver_due();
        self.wake_next();
        Ok(handled)
    }

    /// Runs one attempt of `job` and tells the queue how it ended.
    fn attempt(&self, job: &Job) -> Result<Job, WorkerError> {
        let heartbeat =
            Heartbeat::new(self.clock, self.jobs, &job.id, self.name, self.config.lease);
        let outcome = self.run(&heartbeat, job).execute(job);
        self.finish(job, outcome)
    }

    fn run<'a>(&'a self, heartbeat: &'a Heartbeat<'a>, job: &Job) -> Run<'a> {
        let provider = Provider {
            http: self.http,
            clock: heartbeat,
            base_url: &self.config.provider_url,
            api_secret: self.config.provider_api_secret.as_deref(),
            backoff: DEFAULT_BACKOFF,
        };
        let notify_hook = match &self.config.public_url {
            Some(base) => hook::url(base, &self.config.webhook_secret, &job.id),
            None => String::new(),
        };
        Run {
            provider,
            http: self.http,
            jobs: self.jobs,
            heartbeat,
            worker: self.name,
            poll_interval: self.config.poll_interval,
            run_timeout: self.config.run_timeout,
            backoff: DEFAULT_BACKOFF,
            notify_hook,
        }
    }

    /// Tells the queue how the attempt ended and returns how the job stands. A job that is
    /// no longer this worker's (canceled, or taken over) is left as it is.
    fn finish(&self, job: &Job, outcome: Outcome) -> Result<Job, WorkerError> {
        let (id, me) = (job.id.as_str(), self.name);
        let recorded = match outcome {
            Outcome::Succeeded { image_id } => self.jobs.succeed(id, me, &image_id),
            Outcome::Failed(Failure {
                reason,
                message,
                retry: Retry::Never,
            }) => self.jobs.fail(id, me, reason, &message),
            Outcome::Failed(Failure {
                reason,
                message,
                retry: Retry::Later { after },
            }) => {
                let delay = self.retry_delay(job.attempts, after);
                let delay_ms = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
                self.jobs.retry(id, me, reason, &message, delay_ms)
            }
            Outcome::Stopped(current) => return Ok(*current),
        };
        let error = match recorded {
            Ok(done) => return Ok(done),
            Err(error) => error,
        };
        match self.jobs.get(id) {
            Ok(current)
                if current.status.is_final() || current.lease_owner.as_deref() != Some(me) =>
            {
                Ok(current)
            }
            _ => Err(WorkerError::Finish {
                id: id.to_owned(),
                error,
            }),
        }
    }

    /// The wait before attempt `attempt + 1`: `retry_backoff * 2^(attempt - 1)`, half of it
    /// jittered, at least what the provider asked for, at most [`MAX_RETRY_DELAY`].
    pub fn retry_delay(&self, attempt: u32, asked: Option<Duration>) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        let full = self
            .config
            .retry_backoff
            .saturating_mul(1 << doublings)
            .min(MAX_RETRY_DELAY);
        let half = full / 2;
        let backoff = half + half.mul_f64(self.clock.jitter().clamp(0.0, 1.0));
        asked
            .map_or(backoff, |asked| asked.max(backoff))
            .min(MAX_RETRY_DELAY)
    }

    /// Delivers the notifications that are due, up to [`DELIVERIES_PER_WAKE`], and tells the
    /// queue how each went. A claim holds each job's earliest pending change only, so claims
    /// repeat until nothing more is due.
    fn deliver_due(&self) {
        let mut budget = DELIVERIES_PER_WAKE;
        while budget > 0 {
            let due = match self.jobs.claim_notifications(self.name, budget) {
                Ok(due) => due,
                Err(error) => {
                    eprintln!("generation-worker: claiming notifications failed error={error}");
                    return;
                }
            };
            if due.is_empty() {
                return;
            }
            budget = budget.saturating_sub(due.len() as u32);
            for notification in due {
                self.deliver(&notification);
            }
        }
    }

    fn deliver(&self, notification: &Notification) {
        let secret = &self.config.webhook_secret;
        let recorded = match webhook::deliver(self.http, self.clock, secret, notification) {
            Ok(()) => self.jobs.notification_delivered(&notification.id),
            Err(problem) => {
                eprintln!(
                    "generation-worker: notification failed job.id={} event.id={} attempt={} \
                     error={problem}",
                    notification.job_id,
                    notification.id,
                    notification.attempts + 1
                );
                self.jobs.notification_failed(&notification.id, &problem)
            }
        };
        if let Err(error) = recorded {
            eprintln!(
                "generation-worker: recording a delivery failed event.id={} error={error}",
                notification.id
            );
        }
    }

    /// Publishes a wake-up when jobs are still queued, so that a wake-up lost while every
    /// worker was busy does not strand them.
    fn wake_next(&self) {
        let queued = match self.jobs.queued() {
            Ok(n) => n,
            Err(error) => {
                eprintln!("generation-worker: counting queued jobs failed error={error}");
                return;
            }
        };
        if queued == 0 {
            return;
        }
        let (address, channel) = (&self.config.redis_address, &self.config.jobs_channel);
        if let Err(error) = self.wakeups.publish(address, channel, WAKE_PAYLOAD) {
            eprintln!(
                "generation-worker: publishing a wake-up failed address={address} \
                 channel={channel} error={error}"
            );
        }
    }
}

#[cfg(test)]
mod tests;
