use std::thread;

use promptmesh_guest::db::NativeDb;

use super::*;
use crate::images::{self, NewImage};
use crate::model::Tier;
use crate::schema;
use crate::testing::{self, SECOND, submit};

/// A one-pixel PNG's worth of bytes; the queue does not decode them.
const BYTES: &[u8] = b"\x89PNG\r\n\x1a\nnot really an image";

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

#[test]
fn lease_takes_premium_before_free_and_ageing_lets_old_free_jobs_win() {
    let db = testing::db();
    // Free at 0 s (priority 0), premium at 30 s (priority -30 s), premium at 90 s (30 s).
    let old_free = submit(&db, Tier::Free, 0);
    let premium = submit(&db, Tier::Premium, 30 * SECOND);
    let late_premium = submit(&db, Tier::Premium, 90 * SECOND);
    let order: Vec<String> = (0..3)
        .map(|_| {
            lease(&db, "worker-1", 100 * SECOND)
                .expect("lease")
                .expect("a queued job")
                .id
        })
        .collect();
    assert_eq!(order, [premium.id, old_free.id, late_premium.id]);
    assert_eq!(lease(&db, "worker-1", 100 * SECOND), Ok(None));
}

#[test]
fn a_lease_marks_the_job_running_and_counts_the_attempt() {
    let db = testing::db();
    let job = submit(&db, Tier::Free, SECOND);
    let leased = lease(&db, "worker-7", 2 * SECOND)
        .expect("lease")
        .expect("the job");
    assert_eq!(leased.id, job.id);
    assert_eq!(
        (
            leased.status,
            leased.attempts,
            leased.started_at,
            leased.updated_at
        ),
        (JobStatus::Running, 1, Some(2 * SECOND), 2 * SECOND)
    );
    let owner: Option<String> = db
        .execute(
            "SELECT lease_owner FROM job_jobs WHERE id = ?",
            &[job.id.as_str().into()],
        )
        .expect("read")
        .first()
        .expect("row")
        .get("lease_owner")
        .expect("text");
    assert_eq!(owner.as_deref(), Some("worker-7"));
}

#[test]
fn an_empty_worker_name_is_refused() {
    let db = testing::db();
    let error = lease(&db, " ", 0).expect_err("no name");
    assert_eq!(
        error,
        Error::invalid(
            "worker",
            "required",
            "worker is empty; pass a name that identifies the leasing worker"
        )
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
                while let Some(job) = lease(&db, &format!("w{w}"), 100).expect("lease") {
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

#[test]
fn progress_never_goes_down_and_keeps_the_task_id() {
    let db = testing::db();
    let job = submit(&db, Tier::Free, 0);
    lease(&db, "w", 1).expect("lease");
    let first = progress(&db, &job.id, "task-1", 40, 2).expect("progress");
    assert_eq!(
        (first.progress, first.provider_task_id.as_deref()),
        (40, Some("task-1"))
    );
    let lower = progress(&db, &job.id, "", 10, 3).expect("progress");
    assert_eq!(
        (lower.progress, lower.provider_task_id.as_deref()),
        (40, Some("task-1"))
    );
    let over = progress(&db, &job.id, "", 250, 4).expect("progress");
    assert_eq!((over.progress, over.updated_at), (100, 4));
}

#[test]
fn a_job_runs_forward_to_succeeded_with_its_image() {
    let db = testing::db();
    let job = submit(&db, Tier::Free, 0);
    lease(&db, "w", SECOND).expect("lease");
    progress(&db, &job.id, "task-1", 50, 2 * SECOND).expect("progress");
    let storing_job = storing(&db, &job.id, 3 * SECOND).expect("storing");
    assert_eq!(storing_job.status, JobStatus::Storing);
    let image_id = store_image(&db, &job.id, 4 * SECOND);
    let done = succeed(&db, &job.id, &image_id, 5 * SECOND).expect("succeed");
    assert_eq!(
        (
            done.status,
            done.progress,
            done.image_id.as_deref(),
            done.finished_at,
            done.attempts
        ),
        (
            JobStatus::Succeeded,
            100,
            Some(image_id.as_str()),
            Some(5 * SECOND),
            1
        )
    );
}

#[test]
fn success_needs_the_storing_state_and_the_jobs_own_image() {
    let db = testing::db();
    let job = submit(&db, Tier::Free, 0);
    let other = submit(&db, Tier::Free, 0);
    lease(&db, "w", 1).expect("lease job");
    lease(&db, "w", 1).expect("lease other");
    let image_id = store_image(&db, &job.id, 2);
    assert_eq!(
        succeed(&db, &job.id, &image_id, 3),
        Err(Error::Conflict(format!(
            "job {} is running; cannot mark it succeeded with image {image_id}: only a storing \
             job can succeed",
            job.id
        )))
    );
    storing(&db, &other.id, 3).expect("storing");
    let error = succeed(&db, &other.id, &image_id, 4).expect_err("another job's image");
    assert!(
        matches!(&error, Error::Invalid(f) if f.field == "image_id" && f.code == "image_of_other_job"),
        "{error:?}"
    );
}

#[test]
fn a_final_job_never_changes_again() {
    let db = testing::db();
    let job = submit(&db, Tier::Free, 0);
    lease(&db, "w", 1).expect("lease");
    let failed = fail(&db, &job.id, "timeout", "no answer within 2 s", 2).expect("fail");
    assert_eq!(
        (
            failed.status,
            failed.failure_reason.as_deref(),
            failed.failure_message.as_deref(),
            failed.finished_at
        ),
        (
            JobStatus::Failed,
            Some("timeout"),
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
        progress(&db, &job.id, "t", 90, 3),
        "record progress",
        "only a running job reports progress",
    );
    refused(
        storing(&db, &job.id, 3),
        "mark it storing",
        "only a running job moves to storing",
    );
    refused(
        fail(&db, &job.id, "provider_error", "late", 3),
        "mark it failed",
        "a finished job never changes",
    );
    refused(
        cancel(&db, &job.id, 3),
        "cancel it",
        "a finished job never changes",
    );
    assert_eq!(jobs::get(&db, &job.id).expect("still there"), failed);
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
    assert_eq!(lease(&db, "w", 6), Ok(None));
}

#[test]
fn changes_to_missing_jobs_are_not_found() {
    let db = testing::db();
    let missing = "job_01JDZ8Q3T5KX7Y2M4N6P8R0S9V";
    let expected = Err(Error::NotFound(format!("job {missing} does not exist")));
    assert_eq!(cancel(&db, missing, 1), expected);
    assert_eq!(storing(&db, missing, 1), expected);
    assert_eq!(progress(&db, missing, "t", 1, 1), expected);
}

#[test]
fn a_failure_needs_a_reason() {
    let db = testing::db();
    let job = submit(&db, Tier::Free, 0);
    let error = fail(&db, &job.id, "", "why", 1).expect_err("no reason");
    assert!(
        matches!(&error, Error::Invalid(f) if f.field == "reason" && f.code == "required"),
        "{error:?}"
    );
    assert_eq!(
        jobs::get(&db, &job.id).expect("job").status,
        JobStatus::Queued
    );
}
