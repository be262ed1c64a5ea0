use super::*;
use crate::history;
use crate::images::{self, NewImage};
use crate::model::Tier;
use crate::outbox;
use crate::testing::{self, SECOND, running, submit};

/// A one-pixel PNG's worth of bytes; the queue does not decode them.
const BYTES: &[u8] = b"\x89PNG\r\n\x1a\nnot really an image";
const IMAGE_URL: &str = "https://cdn.example.com/1.png";

fn store_image(db: &dyn Db, job_id: &str, now: u64) -> String {
    let new = NewImage {
        job_id,
        content_type: "image/png",
        width: 1,
        height: 1,
        bytes: BYTES,
    };
    images::store(db, new, now)
        .expect("a running job stores its image")
        .id
}

/// The job's history as (status, attempt, reason).
fn history_of(db: &dyn Db, id: &str) -> Vec<(JobStatus, u32, Option<String>)> {
    history::list(db, id)
        .expect("history")
        .into_iter()
        .map(|t| (t.status, t.attempt, t.reason))
        .collect()
}

#[test]
fn progress_never_goes_down_and_keeps_the_task_id() {
    let db = testing::db();
    let job = running(&db, "w", 0);
    let first = progress(&db, &job.id, "w", "task-1", 40, 2).expect("progress");
    assert_eq!(
        (first.progress, first.provider_task_id.as_deref()),
        (40, Some("task-1"))
    );
    let lower = progress(&db, &job.id, "w", "", 10, 3).expect("progress");
    assert_eq!(
        (lower.progress, lower.provider_task_id.as_deref()),
        (40, Some("task-1"))
    );
    let over = progress(&db, &job.id, "w", "", 250, 4).expect("progress");
    assert_eq!((over.progress, over.updated_at), (100, 4));
}

#[test]
fn an_attempt_records_one_provider_task_only() {
    let db = testing::db();
    let job = running(&db, "w", 0);
    progress(&db, &job.id, "w", "task-1", 0, 1).expect("first task");
    assert_eq!(
        progress(&db, &job.id, "w", "task-2", 0, 2),
        Err(Error::Conflict(format!(
            "job {} already runs as provider task task-1; attempt 1 cannot record a second \
             task task-2",
            job.id
        )))
    );
    let same = progress(&db, &job.id, "w", "task-1", 30, 3).expect("the same task");
    assert_eq!(same.provider_task_id.as_deref(), Some("task-1"));
}

#[test]
fn a_job_runs_forward_to_succeeded_with_its_image_and_its_history() {
    let db = testing::db();
    let job = running(&db, "w", SECOND);
    progress(&db, &job.id, "w", "task-1", 50, 2 * SECOND).expect("progress");
    let storing_job = storing(&db, &job.id, "w", IMAGE_URL, 3 * SECOND).expect("storing");
    assert_eq!(
        (
            storing_job.status,
            storing_job.provider_image_url.as_deref()
        ),
        (JobStatus::Storing, Some(IMAGE_URL))
    );
    let image_id = store_image(&db, &job.id, 4 * SECOND);
    let done = succeed(&db, &job.id, "w", &image_id, 5 * SECOND).expect("succeed");
    assert_eq!(
        (
            done.status,
            done.progress,
            done.image_id.as_deref(),
            done.finished_at,
            done.attempts,
            done.lease_owner,
            done.lease_expires_at
        ),
        (
            JobStatus::Succeeded,
            100,
            Some(image_id.as_str()),
            Some(5 * SECOND),
            1,
            None,
            None
        )
    );
    let times: Vec<u64> = history::list(&db, &job.id)
        .expect("history")
        .iter()
        .map(|t| t.at)
        .collect();
    assert_eq!(times, [SECOND, SECOND, 3 * SECOND, 5 * SECOND]);
    assert_eq!(
        history_of(&db, &job.id),
        [
            (JobStatus::Queued, 0, None),
            (JobStatus::Running, 1, None),
            (JobStatus::Storing, 1, None),
            (JobStatus::Succeeded, 1, None),
        ]
    );
}

#[test]
fn each_state_change_after_the_first_is_queued_for_the_callback_url() {
    let db = testing::db();
    let job = running(&db, "w", 0);
    storing(&db, &job.id, "w", IMAGE_URL, 1).expect("storing");
    let image_id = store_image(&db, &job.id, 2);
    succeed(&db, &job.id, "w", &image_id, 3).expect("succeed");
    let events: Vec<(u32, String)> = outbox::list(&db, &job.id)
        .expect("notifications")
        .into_iter()
        .map(|n| {
            let body: serde_json::Value = serde_json::from_str(&n.body).expect("JSON body");
            (n.seq, body["type"].as_str().expect("a type").to_string())
        })
        .collect();
    assert_eq!(
        events,
        [
            (2, "job.running".to_string()),
            (3, "job.storing".to_string()),
            (4, "job.succeeded".to_string()),
        ]
    );
}

#[test]
fn success_needs_the_storing_state_and_the_jobs_own_image() {
    let db = testing::db();
    let job = running(&db, "w", 0);
    let other = running(&db, "w", 0);
    let image_id = store_image(&db, &job.id, 2);
    assert_eq!(
        succeed(&db, &job.id, "w", &image_id, 3),
        Err(Error::Conflict(format!(
            "job {} is running; cannot mark it succeeded with image {image_id}: only a storing \
             job can succeed",
            job.id
        )))
    );
    storing(&db, &other.id, "w", IMAGE_URL, 3).expect("storing");
    let error = succeed(&db, &other.id, "w", &image_id, 4).expect_err("another job's image");
    assert!(
        matches!(&error, Error::Invalid(f) if f.field == "image_id" && f.code == "image_of_other_job"),
        "{error:?}"
    );
}

#[test]
fn a_final_job_never_changes_again() {
    let db = testing::db();
    let job = running(&db, "w", 0);
    let failed = fail(&db, &job.id, "w", "run_timeout", "no answer within 2 s", 2).expect("fail");
    assert_eq!(
        (
            failed.status,
            failed.failure_reason.as_deref(),
            failed.failure_message.as_deref(),
            failed.finished_at
        ),
        (
            JobStatus::Failed,
            Some("run_timeout"),
            Some("no answer within 2 s"),
            Some(2)
        )
    );
    let refused = |e: Result<Job>, action: &str, rule: &str| {
        assert_eq!(
            e,
            Err(Error::Conflict(format!(
                "job {} is failed; cannot {action}: {rule}",
                job.id
            )))
        );
    };
    refused(
        progress(&db, &job.id, "w", "", 90, 3),
        "record progress",
        "only a running job reports progress",
    );
    refused(
        storing(&db, &job.id, "w", IMAGE_URL, 3),
        "mark it storing",
        "only a running job moves to storing",
    );
    refused(
        fail(&db, &job.id, "w", "provider_error", "late", 3),
        "mark it failed",
        "a finished job never changes",
    );
    refused(
        cancel(&db, &job.id, 3),
        "cancel it",
        "a finished job never changes",
    );
    assert_eq!(jobs::get(&db, &job.id).expect("still there"), failed);
    assert_eq!(history::list(&db, &job.id).expect("history").len(), 3);
}

#[test]
fn a_worker_that_lost_its_lease_changes_nothing() {
    let db = testing::db();
    let job = running(&db, "w1", 0);
    // w1's lease ended; w2 resumed the job.
    let config = testing::config(10);
    crate::lease::lease(&db, &config, "w2", testing::LEASE_MS, 31 * SECOND)
        .expect("lease")
        .expect("the expired job");
    let expected = Err(Error::Conflict(format!(
        "job {} is leased to w2, not to w1: the lease ended and the job moved on; stop working \
         on it",
        job.id
    )));
    assert_eq!(
        progress(&db, &job.id, "w1", "task-9", 50, 32 * SECOND),
        expected
    );
    assert_eq!(
        storing(&db, &job.id, "w1", IMAGE_URL, 32 * SECOND),
        expected
    );
    assert_eq!(
        fail(&db, &job.id, "w1", "provider_error", "x", 32 * SECOND),
        expected
    );
    let current = jobs::get(&db, &job.id).expect("job");
    assert_eq!(
        (
            current.status,
            current.lease_owner.as_deref(),
            current.attempts
        ),
        (JobStatus::Running, Some("w2"), 2)
    );
}

#[test]
fn queued_jobs_cancel_and_are_never_leased() {
    let db = testing::db();
    let job = submit(&db, Tier::Free, 0);
    let canceled = cancel(&db, &job.id, 5).expect("cancel");
    assert_eq!(
        (canceled.status, canceled.finished_at),
        (JobStatus::Canceled, Some(5))
    );
    assert_eq!(testing::lease(&db, "w", 6), None);
}

#[test]
fn an_operator_requeues_a_failed_job_with_fresh_attempts() {
    let db = testing::db();
    let job = running(&db, "w", 0);
    progress(&db, &job.id, "w", "task-1", 60, 1).expect("progress");
    fail(&db, &job.id, "w", "attempts_exhausted", "gave up", 2).expect("fail");
    let requeued = requeue(&db, &job.id, 10).expect("requeue");
    assert_eq!(
        (
            requeued.status,
            requeued.attempts,
            requeued.progress,
            requeued.failure_reason,
            requeued.provider_task_id,
            requeued.finished_at,
            requeued.queued_at
        ),
        (JobStatus::Queued, 0, 0, None, None, None, 10)
    );
    assert_eq!(
        history_of(&db, &job.id).last(),
        Some(&(JobStatus::Queued, 0, Some("requeued".to_string())))
    );
    let leased = testing::lease(&db, "w", 11).expect("leased again");
    assert_eq!((leased.id, leased.attempts), (job.id.clone(), 1));
    assert_eq!(
        requeue(&db, &job.id, 12),
        Err(Error::Conflict(format!(
            "job {} is running; cannot requeue it: only a failed job can be requeued",
            job.id
        )))
    );
}

#[test]
fn changes_to_missing_jobs_are_not_found() {
    let db = testing::db();
    let missing = "job_01JDZ8Q3T5KX7Y2M4N6P8R0S9V";
    let expected = Err(Error::NotFound(format!("job {missing} does not exist")));
    assert_eq!(cancel(&db, missing, 1), expected);
    assert_eq!(storing(&db, missing, "w", IMAGE_URL, 1), expected);
    assert_eq!(progress(&db, missing, "w", "t", 1, 1), expected);
}

#[test]
fn a_failure_needs_a_reason() {
    let db = testing::db();
    let job = running(&db, "w", 0);
    let error = fail(&db, &job.id, "w", "", "why", 1).expect_err("no reason");
    assert!(
        matches!(&error, Error::Invalid(f) if f.field == "reason" && f.code == "required"),
        "{error:?}"
    );
    assert_eq!(
        jobs::get(&db, &job.id).expect("job").status,
        JobStatus::Running
    );
}
