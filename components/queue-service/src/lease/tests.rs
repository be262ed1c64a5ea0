use std::thread;

use promptmesh_guest::db::NativeDb;

use super::*;
use crate::lifecycle;
use crate::model::Tier;
use crate::schema;
use crate::testing::{self, LEASE_MS, SECOND, config, running, submit};

fn lease_at(db: &dyn Db, worker: &str, now: u64) -> Option<Job> {
    lease(db, &config(1000), worker, LEASE_MS, now).expect("leasing works")
}

fn retry_of<'a>(id: &'a str, worker: &'a str, delay_ms: u32) -> Retry<'a> {
    Retry {
        id,
        worker,
        reason: "provider_error",
        message: "HTTP 502 after 4 attempts",
        delay_ms,
    }
}

#[test]
fn lease_takes_premium_before_free_and_ageing_lets_old_free_jobs_win() {
    let db = testing::db();
    // Free at 0 s (priority 0), premium at 30 s (priority -30 s), premium at 90 s (30 s).
    let old_free = submit(&db, Tier::Free, 0);
    let premium = submit(&db, Tier::Premium, 30 * SECOND);
    let late_premium = submit(&db, Tier::Premium, 90 * SECOND);
    let order: Vec<String> = (0..3)
        .map(|_| {
            lease_at(&db, "worker-1", 100 * SECOND)
                .expect("a queued job")
                .id
        })
        .collect();
    assert_eq!(order, [premium.id, old_free.id, late_premium.id]);
    assert_eq!(lease_at(&db, "worker-1", 100 * SECOND), None);
}

#[test]
fn a_lease_marks_the_job_running_counts_the_attempt_and_holds_it() {
    let db = testing::db();
    let job = submit(&db, Tier::Free, SECOND);
    let leased = lease_at(&db, "worker-7", 2 * SECOND).expect("the job");
    assert_eq!(leased.id, job.id);
    assert_eq!(
        (
            leased.status,
            leased.attempts,
            leased.started_at,
            leased.run_started_at,
            leased.lease_owner.as_deref(),
            leased.lease_expires_at
        ),
        (
            JobStatus::Running,
            1,
            Some(2 * SECOND),
            Some(2 * SECOND),
            Some("worker-7"),
            Some(32 * SECOND)
        )
    );
    assert_eq!(lease_at(&db, "worker-8", 31 * SECOND), None, "still held");
}

#[test]
fn an_ended_lease_resumes_the_job_with_its_provider_task() {
    let db = testing::db();
    let job = running(&db, "w1", 0);
    lifecycle::progress(&db, &job.id, "w1", "task-1", 85, SECOND).expect("task");

    // w1 died: its lease ends at 30 s and w2 picks the job up as it stood.
    let resumed = lease_at(&db, "w2", 30 * SECOND).expect("the stranded job");
    assert_eq!(
        (
            resumed.status,
            resumed.attempts,
            resumed.provider_task_id.as_deref(),
            resumed.progress,
            resumed.run_started_at,
            resumed.lease_owner.as_deref()
        ),
        (
            JobStatus::Running,
            2,
            Some("task-1"),
            85,
            Some(0),
            Some("w2")
        )
    );
    let last = crate::history::list(&db, &job.id)
        .expect("history")
        .pop()
        .expect("a change");
    assert_eq!(
        (
            last.status,
            last.attempt,
            last.reason.as_deref(),
            last.message.as_deref()
        ),
        (
            JobStatus::Running,
            2,
            Some("lease_expired"),
            Some("the lease of w1 ended; attempt 2 resumes the job as it stood")
        )
    );
}

#[test]
fn a_run_without_a_provider_task_restarts_its_clock_when_resumed() {
    let db = testing::db();
    let job = running(&db, "w1", 0);
    let resumed = lease_at(&db, "w2", 40 * SECOND).expect("the stranded job");
    assert_eq!(
        (resumed.id, resumed.run_started_at, resumed.provider_task_id),
        (job.id, Some(40 * SECOND), None)
    );
}

#[test]
fn a_storing_job_is_resumed_storing() {
    let db = testing::db();
    let job = running(&db, "w1", 0);
    lifecycle::storing(&db, &job.id, "w1", "https://cdn/1.png", SECOND).expect("storing");
    let resumed = lease_at(&db, "w2", 31 * SECOND).expect("the stranded job");
    assert_eq!(
        (resumed.status, resumed.provider_image_url.as_deref()),
        (JobStatus::Storing, Some("https://cdn/1.png"))
    );
}

#[test]
fn a_job_out_of_attempts_fails_instead_of_being_leased() {
    let db = testing::db();
    let config = Config {
        max_attempts: 2,
        ..config(1000)
    };
    let job = submit(&db, Tier::Free, 0);
    let lease_with = |worker: &str, now| {
        lease(&db, &config, worker, LEASE_MS, now)
            .expect("leasing works")
            .map(|j| (j.id, j.attempts))
    };
    assert_eq!(lease_with("w1", 0), Some((job.id.clone(), 1)));
    // w1 and then w2 die; their leases end 30 s after they took the job.
    assert_eq!(lease_with("w2", 30 * SECOND), Some((job.id.clone(), 2)));
    assert_eq!(lease_with("w3", 60 * SECOND), None);
    let failed = jobs::get(&db, &job.id).expect("job");
    assert_eq!(
        (
            failed.status,
            failed.failure_reason.as_deref(),
            failed.failure_message.as_deref(),
            failed.attempts
        ),
        (
            JobStatus::Failed,
            Some("attempts_exhausted"),
            Some(
                "gave up after 2 attempts (max_attempts is 2); the last one: lease_expired: \
                 the lease of w1 ended; attempt 2 resumes the job as it stood"
            ),
            2
        )
    );
}

#[test]
fn a_retry_before_any_provider_task_requeues_after_the_delay() {
    let db = testing::db();
    let job = running(&db, "w", 0);
    let requeued = retry(&db, &config(1000), retry_of(&job.id, "w", 5000), SECOND).expect("ok");
    assert_eq!(
        (
            requeued.status,
            requeued.not_before,
            requeued.queued_at,
            requeued.lease_owner,
            requeued.attempts
        ),
        (JobStatus::Queued, 6 * SECOND, 6 * SECOND, None, 1)
    );
    assert_eq!(lease_at(&db, "w", 5 * SECOND), None, "still backing off");
    let again = lease_at(&db, "w", 6 * SECOND).expect("due again");
    assert_eq!((again.id, again.attempts), (job.id.clone(), 2));
    let notified: Vec<String> = crate::outbox::list(&db, &job.id)
        .expect("notifications")
        .into_iter()
        .map(|n| {
            let body: serde_json::Value = serde_json::from_str(&n.body).expect("JSON");
            body["type"].as_str().expect("type").to_string()
        })
        .collect();
    assert_eq!(notified, ["job.running", "job.queued", "job.running"]);
}

#[test]
fn a_retry_with_a_provider_task_keeps_the_state_and_releases_the_lease() {
    let db = testing::db();
    let job = running(&db, "w1", 0);
    lifecycle::storing(&db, &job.id, "w1", "https://cdn/1.png", SECOND).expect("storing");
    let released = retry(
        &db,
        &config(1000),
        retry_of(&job.id, "w1", 2000),
        2 * SECOND,
    )
    .expect("released");
    assert_eq!(
        (
            released.status,
            released.lease_owner,
            released.lease_expires_at
        ),
        (JobStatus::Storing, None, Some(4 * SECOND))
    );
    let resumed = lease_at(&db, "w2", 4 * SECOND).expect("due again");
    assert_eq!((resumed.status, resumed.attempts), (JobStatus::Storing, 2));
    let last = crate::history::list(&db, &job.id)
        .expect("history")
        .pop()
        .expect("a change");
    assert_eq!(
        (last.reason.as_deref(), last.message.as_deref()),
        (
            Some("retry"),
            Some("attempt 2 resumes the job after its backoff")
        )
    );
}

#[test]
fn the_last_attempt_fails_for_good() {
    let db = testing::db();
    let config = Config {
        max_attempts: 1,
        ..config(1000)
    };
    let job = running(&db, "w", 0);
    let failed = retry(&db, &config, retry_of(&job.id, "w", 1000), SECOND).expect("final");
    assert_eq!(
        (
            failed.status,
            failed.failure_reason.as_deref(),
            failed.failure_message.as_deref()
        ),
        (
            JobStatus::Failed,
            Some("attempts_exhausted"),
            Some(
                "gave up after 1 attempts (max_attempts is 1); the last one: provider_error: \
                 HTTP 502 after 4 attempts"
            )
        )
    );
}

#[test]
fn only_the_lease_holder_retries() {
    let db = testing::db();
    let job = running(&db, "w1", 0);
    let refused = retry(&db, &config(1000), retry_of(&job.id, "w2", 0), 1);
    assert_eq!(
        refused,
        Err(Error::Conflict(format!(
            "job {} is leased to w1, not to w2: the lease ended and the job moved on; stop \
             working on it",
            job.id
        )))
    );
}

#[test]
fn renewing_extends_the_lease_and_a_lost_lease_is_a_conflict() {
    let db = testing::db();
    let job = running(&db, "w1", 0);
    let renewed = renew(&db, &job.id, "w1", LEASE_MS, 20 * SECOND).expect("renewed");
    assert_eq!(renewed.lease_expires_at, Some(50 * SECOND));
    assert_eq!(
        lease_at(&db, "w2", 40 * SECOND),
        None,
        "the renewed lease holds"
    );
    lease_at(&db, "w2", 50 * SECOND).expect("taken after the renewed lease ended");
    assert_eq!(
        renew(&db, &job.id, "w1", LEASE_MS, 51 * SECOND),
        Err(Error::Conflict(format!(
            "job {} is leased to w2, not to w1: the lease ended and the job moved on; stop \
             working on it",
            job.id
        )))
    );
}

#[test]
fn leases_must_be_named_and_bounded() {
    let db = testing::db();
    assert_eq!(
        lease(&db, &config(10), " ", LEASE_MS, 0),
        Err(Error::invalid(
            "worker",
            "required",
            "worker is empty; pass a name that identifies the leasing worker"
        ))
    );
    assert_eq!(
        lease(&db, &config(10), "w", 0, 0),
        Err(Error::invalid(
            "lease_ms",
            "lease_out_of_range",
            "lease_ms 0 is out of range; pass 1 to 3600000 milliseconds"
        ))
    );
}

#[test]
fn jobs_waiting_past_the_queue_timeout_fail() {
    let db = testing::db();
    let config = Config {
        queue_timeout_seconds: 2,
        ..config(1000)
    };
    let old = submit(&db, Tier::Free, 0);
    let young = submit(&db, Tier::Free, SECOND);
    assert_eq!(sweep(&db, &config, 2 * SECOND - 1), Ok(0));
    assert_eq!(sweep(&db, &config, 2 * SECOND), Ok(1));
    let failed = jobs::get(&db, &old.id).expect("job");
    assert_eq!(
        (
            failed.status,
            failed.failure_reason.as_deref(),
            failed.failure_message.as_deref()
        ),
        (
            JobStatus::Failed,
            Some("queue_timeout"),
            Some("waited 2 s in the queue, past queue_timeout_seconds (2 s)")
        )
    );
    assert_eq!(
        jobs::get(&db, &young.id).expect("job").status,
        JobStatus::Queued
    );
}

#[test]
fn concurrent_leases_never_take_the_same_job() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("queue.db");
    let db = NativeDb::file(&path).expect("open");
    schema::migrate(&db).expect("migrate");
    for i in 0..20 {
        submit(&db, Tier::Free, i);
    }
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let path = path.clone();
            thread::spawn(move || {
                let db = NativeDb::file(&path).expect("open shared file");
                let mut taken = Vec::new();
                while let Some(job) = lease_at(&db, &format!("w{w}"), 100) {
                    taken.push(job.id);
                }
                taken
            })
        })
        .collect();
    let mut taken: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("leasing thread does not panic"))
        .collect();
    assert_eq!(taken.len(), 20);
    taken.sort();
    taken.dedup();
    assert_eq!(taken.len(), 20, "a job was leased twice");
}
