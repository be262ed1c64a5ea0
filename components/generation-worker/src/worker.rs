//! One wake-up of the worker: lease the first queued job, run it on the provider, record how
//! it ended, notify its callback URL, and wake the next worker while jobs still wait.

use crate::config::Config;
use crate::outcome::Outcome;
use crate::ports::{Clock, HttpClient, Job, Jobs, QueueError, Wakeups};
use crate::provider::Provider;
use crate::retry::DEFAULT_BACKOFF;
use crate::run::Run;
use crate::webhook::{self, Delivery};

/// The payload of the wake-ups a worker publishes; workers lease by priority, so the
/// payload only says "look at the queue".
pub const WAKE_PAYLOAD: &[u8] = b"next";

/// What a worker needs from its world.
pub struct Worker<'a> {
    pub config: &'a Config,
    pub http: &'a dyn HttpClient,
    pub jobs: &'a dyn Jobs,
    pub clock: &'a dyn Clock,
    pub wakeups: &'a dyn Wakeups,
    /// Identifies this worker on its leases.
    pub name: &'a str,
}

/// What one wake-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Nothing was queued.
    Idle,
    /// The leased job reached this final state; `delivery` tells how its callback went.
    Finished {
        job: Job,
        delivery: Option<Delivery>,
    },
}

/// The queue failed around a run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    #[error("leasing a job failed: {0}")]
    Lease(QueueError),
    #[error("recording the end of job `{id}` failed: {error}")]
    Finish { id: String, error: QueueError },
}

impl Worker<'_> {
    /// Handles one wake-up.
    pub fn handle(&self) -> Result<Handled, WorkerError> {
        let Some(job) = self.jobs.lease(self.name).map_err(WorkerError::Lease)? else {
            return Ok(Handled::Idle);
        };
        let outcome = self.run().execute(&job);
        let finished = self.finish(&job, outcome)?;
        let delivery = self.notify(&finished);
        self.wake_next();
        Ok(Handled::Finished {
            job: finished,
            delivery,
        })
    }

    fn run(&self) -> Run<'_> {
        let provider = Provider {
            http: self.http,
            clock: self.clock,
            base_url: &self.config.provider_url,
            api_secret: self.config.provider_api_secret.as_deref(),
            backoff: DEFAULT_BACKOFF,
        };
        Run {
            provider,
            http: self.http,
            jobs: self.jobs,
            clock: self.clock,
            poll_interval: self.config.poll_interval,
            run_timeout: self.config.run_timeout,
            backoff: DEFAULT_BACKOFF,
        }
    }

    /// Tells the queue how the run ended and returns the final job. A job that became final
    /// elsewhere meanwhile (canceled) keeps that state.
    fn finish(&self, job: &Job, outcome: Outcome) -> Result<Job, WorkerError> {
        let recorded = match outcome {
            Outcome::Succeeded { image_id } => self.jobs.succeed(&job.id, &image_id),
            Outcome::Failed(failure) => self.jobs.fail(&job.id, failure.reason, &failure.message),
            Outcome::Stopped(current) => return Ok(current),
        };
        let error = match recorded {
            Ok(done) => return Ok(done),
            Err(error) => error,
        };
        match self.jobs.get(&job.id) {
            Ok(current) if current.status.is_final() => Ok(current),
            _ => Err(WorkerError::Finish {
                id: job.id.clone(),
                error,
            }),
        }
    }

    /// Posts the job's final state to its callback URL, if it has one.
    fn notify(&self, job: &Job) -> Option<Delivery> {
        let url = job.callback_url.as_deref()?;
        let secret = &self.config.webhook_secret;
        let delivery = webhook::deliver(self.http, self.clock, DEFAULT_BACKOFF, secret, url, job);
        if let Some(failure) = &delivery.failure {
            eprintln!(
                "generation-worker: notification failed job.id={} event.id={} attempts={} \
                 error={failure}",
                job.id, delivery.event_id, delivery.attempts
            );
        }
        Some(delivery)
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
