//! Keeps a worker's lease on its job alive while it works: every sleep of the run goes
//! through [`Heartbeat`], which sleeps in pieces of a third of the lease and renews the lease
//! between them. When the queue refuses a renewal (the job was canceled, or the lease
//! passed to another worker after a stall), the heartbeat remembers how the job stands and
//! the run stops at its next check.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use crate::outcome::Outcome;
use crate::ports::{Clock, Job, Jobs, QueueError};

/// A clock that renews `worker`'s lease on `job_id` while the run sleeps.
pub struct Heartbeat<'a> {
    clock: &'a dyn Clock,
    jobs: &'a dyn Jobs,
    job_id: String,
    worker: &'a str,
    lease: Duration,
    /// When the lease was last renewed, Unix milliseconds.
    renewed_at: Cell<u64>,
    /// How the job stood when the lease was found lost.
    lost: RefCell<Option<Job>>,
}

impl<'a> Heartbeat<'a> {
    /// A heartbeat for a lease just taken.
    pub fn new(
        clock: &'a dyn Clock,
        jobs: &'a dyn Jobs,
        job_id: &str,
        worker: &'a str,
        lease: Duration,
    ) -> Self {
        Heartbeat {
            clock,
            jobs,
            job_id: job_id.to_owned(),
            worker,
            lease,
            renewed_at: Cell::new(clock.now_ms()),
            lost: RefCell::new(None),
        }
    }

    /// How often the lease is renewed: a third of it, so two renewals may fail in a row
    /// before it ends.
    pub fn interval(&self) -> Duration {
        self.lease / 3
    }

    /// Renews the lease when an interval has passed since the last renewal.
    pub fn beat(&self) {
        if self.lost.borrow().is_some() {
            return;
        }
        let now = self.clock.now_ms();
        if now.saturating_sub(self.renewed_at.get()) < millis(self.interval()) {
            return;
        }
        let lease_ms = u32::try_from(self.lease.as_millis()).unwrap_or(u32::MAX);
        match self.jobs.renew(&self.job_id, self.worker, lease_ms) {
            Ok(_) => self.renewed_at.set(now),
            Err(QueueError::Conflict(_)) => {
                let current = self.jobs.get(&self.job_id).ok();
                *self.lost.borrow_mut() = current;
            }
            // The lease may still hold; the next beat tries again.
            Err(error) => eprintln!(
                "generation-worker: renewing the lease failed job.id={} error={error}",
                self.job_id
            ),
        }
    }

    /// `Err(Stopped)` with how the job stands once the lease is lost.
    pub fn check(&self) -> Result<(), Outcome> {
        match self.lost.borrow().as_ref() {
            Some(job) => Err(Outcome::Stopped(Box::new(job.clone()))),
            None => Ok(()),
        }
    }

    /// Records that the queue refused a change because the job is no longer this worker's.
    pub fn mark_lost(&self, job: Job) {
        *self.lost.borrow_mut() = Some(job);
    }
}

impl Clock for Heartbeat<'_> {
    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    fn sleep(&self, duration: Duration) {
        let mut left = duration;
        while !left.is_zero() && self.lost.borrow().is_none() {
            let piece = left.min(self.interval());
            self.clock.sleep(piece);
            left -= piece;
            self.beat();
        }
    }

    fn jitter(&self) -> f64 {
        self.clock.jitter()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
