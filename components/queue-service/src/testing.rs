//! Shared set-up for the unit tests: a migrated database, configurations and new jobs.

use promptmesh_guest::db::NativeDb;

use crate::config::Config;
use crate::jobs;
use crate::model::{Job, NewJob, Tier, Variable};
use crate::schema;

/// One second, in milliseconds.
pub const SECOND: u64 = 1000;

/// A migrated in-memory database.
pub fn db() -> NativeDb {
    schema::test_db()
}

/// A configuration with this capacity and a 60 s head start.
pub fn config(queue_capacity: u32) -> Config {
    Config {
        queue_capacity,
        premium_head_start_seconds: 60,
        ..Config::default()
    }
}

/// A valid job of `owner` at `tier`.
pub fn new_job(owner: &str, tier: Tier) -> NewJob {
    NewJob {
        owner: owner.into(),
        tier,
        prompt: "a red fox in snow --ar 16:9".into(),
        template_id: Some("tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V".into()),
        template_version: Some(3),
        variables: vec![Variable {
            name: "subject".into(),
            value: "a red fox".into(),
        }],
        callback_url: Some("https://hooks.example.com/jobs".into()),
        idempotency_key: None,
        request_hash: None,
    }
}

/// Submits a job of `tier` for `key_1` at `now`, with room in the queue.
pub fn submit(db: &NativeDb, tier: Tier, now: u64) -> Job {
    jobs::submit(db, &config(1000), new_job("key_1", tier), now)
        .expect("a valid job fits an empty queue")
        .job
}

/// The lease every test worker takes: 30 s.
pub const LEASE_MS: u32 = 30_000;

/// Leases the first available job for `worker` at `now`, with the default configuration.
pub fn lease(db: &NativeDb, worker: &str, now: u64) -> Option<Job> {
    crate::lease::lease(db, &config(1000), worker, LEASE_MS, now).expect("leasing works")
}

/// Submits a job and leases it for `worker`; returns the leased job.
pub fn running(db: &NativeDb, worker: &str, now: u64) -> Job {
    let job = submit(db, Tier::Free, now);
    let leased = lease(db, worker, now).expect("the job just submitted");
    assert_eq!(leased.id, job.id, "the queue held only this job");
    leased
}
