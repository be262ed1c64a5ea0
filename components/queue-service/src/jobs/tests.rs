use std::thread;

use promptmesh_guest::cursor;
use promptmesh_guest::db::{Db, NativeDb};
use promptmesh_guest::id::is_id;

use super::*;
use crate::config::Config;
use crate::lifecycle;
use crate::model::{Tier, Variable};
use crate::schema;
use crate::testing::{self, SECOND, config, new_job};

/// Submits and returns the job, for the tests about new jobs.
fn submit(db: &dyn Db, config: &Config, job: NewJob, now: u64) -> Result<Job> {
    super::submit(db, config, job, now).map(|s| s.job)
}

fn row_count(db: &dyn Db) -> i64 {
    db.execute("SELECT COUNT(*) AS n FROM job_jobs", &[])
        .expect("count")
        .first()
        .expect("one row")
        .get("n")
        .expect("integer")
}

#[test]
fn submit_stores_a_queued_job_with_every_field() {
    let db = testing::db();
    let job =
        submit(&db, &config(10), new_job("key_1", Tier::Free), 5 * SECOND).expect("valid job");
    assert!(is_id("job", &job.id), "{}", job.id);
    let expected = Job {
        id: job.id.clone(),
        owner: "key_1".into(),
        tier: Tier::Free,
        priority: 5000,
        prompt: "a red fox in snow --ar 16:9".into(),
        template_id: Some("tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V".into()),
        template_version: Some(3),
        variables: vec![Variable {
            name: "subject".into(),
            value: "a red fox".into(),
        }],
        callback_url: Some("https://hooks.example.com/jobs".into()),
        status: JobStatus::Queued,
        progress: 0,
        attempts: 0,
        failure_reason: None,
        failure_message: None,
        provider_task_id: None,
        image_id: None,
        created_at: 5000,
        updated_at: 5000,
        started_at: None,
        finished_at: None,
        lease_owner: None,
        lease_expires_at: None,
        run_started_at: None,
        not_before: 0,
        queued_at: 5000,
        provider_status: None,
        provider_image_url: None,
        provider_fail_reason: None,
        idempotency_key: None,
    };
    assert_eq!(job, expected);
    assert_eq!(get(&db, &job.id), Ok(expected));
}

#[test]
fn premium_and_admin_priority_is_creation_minus_the_head_start() {
    let db = testing::db();
    let at = 100 * SECOND;
    let free = submit(&db, &config(10), new_job("k", Tier::Free), at).expect("free");
    let premium = submit(&db, &config(10), new_job("k", Tier::Premium), at).expect("premium");
    let admin = submit(&db, &config(10), new_job("k", Tier::Admin), at).expect("admin");
    assert_eq!(
        (free.priority, premium.priority, admin.priority),
        (100_000, 40_000, 40_000)
    );
}

#[test]
fn invalid_jobs_are_refused_and_nothing_is_stored() {
    let db = testing::db();
    let mut job = new_job("key_1", Tier::Free);
    job.callback_url = Some("ftp://example.com/x".into());
    let result = submit(&db, &config(10), job, 0);
    assert!(
        matches!(&result, Err(Error::Invalid(e)) if e.field == "callback_url" && e.code == "invalid_callback_url"),
        "{result:?}"
    );
    assert_eq!(row_count(&db), 0);
}

#[test]
fn get_of_a_missing_job_is_not_found() {
    let db = testing::db();
    assert_eq!(
        get(&db, "job_01JDZ8Q3T5KX7Y2M4N6P8R0S9V"),
        Err(Error::NotFound(
            "job job_01JDZ8Q3T5KX7Y2M4N6P8R0S9V does not exist".into()
        ))
    );
}

#[test]
fn a_full_queue_refuses_with_thirty_seconds_when_nothing_finished() {
    let db = testing::db();
    for t in 0..3 {
        submit(&db, &config(3), new_job("k", Tier::Free), t).expect("room");
    }
    let refused = submit(&db, &config(3), new_job("k", Tier::Premium), SECOND);
    assert_eq!(refused, Err(Error::QueueFull(30)));
    assert_eq!(row_count(&db), 3);
}

#[test]
fn retry_after_follows_jobs_finished_in_the_last_minute() {
    let db = testing::db();
    let ids: Vec<String> = (0..6)
        .map(|_| testing::submit(&db, Tier::Free, 0).id)
        .collect();
    lifecycle::cancel(&db, &ids[0], 5 * SECOND).expect("cancel queued");
    lifecycle::cancel(&db, &ids[1], 6 * SECOND).expect("cancel queued");

    // 4 active, capacity 2: 3 must finish; 2 finished per minute -> 90 s.
    let full = |now| submit(&db, &config(2), new_job("k", Tier::Free), now);
    assert_eq!(full(30 * SECOND), Err(Error::QueueFull(90)));
    // The window is (now - 60 s, now]: the cancel at 5 s has left it, 1 per minute -> 180 s.
    assert_eq!(full(65_500), Err(Error::QueueFull(180)));
    assert_eq!(full(66 * SECOND), Err(Error::QueueFull(30)));
    assert_eq!(row_count(&db), 6);
}

#[test]
fn a_queue_accepts_again_once_a_job_finishes() {
    let db = testing::db();
    let first = submit(&db, &config(1), new_job("k", Tier::Free), 0).expect("room");
    assert_eq!(
        submit(&db, &config(1), new_job("k", Tier::Free), 1).map(|j| j.status),
        Err(Error::QueueFull(30))
    );
    lifecycle::cancel(&db, &first.id, 2).expect("cancel");
    let second = submit(&db, &config(1), new_job("k", Tier::Free), 3).expect("room again");
    assert_eq!(second.status, JobStatus::Queued);
}

#[test]
fn concurrent_submissions_never_exceed_the_capacity() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("queue.db");
    schema::migrate(&NativeDb::file(&path).expect("open")).expect("migrate");

    let handles: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            thread::spawn(move || {
                let db = NativeDb::file(&path).expect("open shared file");
                (0..5)
                    .map(|_| submit(&db, &config(10), new_job("k", Tier::Free), 0).map(|_| ()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<Result<()>> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("submitting thread does not panic"))
        .collect();

    let accepted = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| **r == Err(Error::QueueFull(30)))
        .count();
    assert_eq!((accepted, refused), (10, 30));
    let db = NativeDb::file(&path).expect("open");
    assert_eq!(row_count(&db), 10);
}

#[test]
fn listing_pages_newest_first_with_cursors() {
    let db = testing::db();
    let mut ids: Vec<String> = (0..5)
        .map(|t| testing::submit(&db, Tier::Free, t).id)
        .collect();
    ids.sort();
    ids.reverse();

    let page = |cursor: Option<String>| {
        let filter = JobFilter {
            limit: 2,
            cursor,
            ..JobFilter::default()
        };
        let page = list(&db, &filter).expect("list");
        let ids: Vec<String> = page.items.into_iter().map(|j| j.id).collect();
        (ids, page.next_cursor)
    };
    let (first, next) = page(None);
    assert_eq!(first, ids[0..2]);
    assert_eq!(next, Some(cursor::encode(&ids[1])));
    let (second, next) = page(next);
    assert_eq!(second, ids[2..4]);
    assert_eq!(next, Some(cursor::encode(&ids[3])));
    let (third, next) = page(next);
    assert_eq!(third, ids[4..5]);
    assert_eq!(next, None);
}

#[test]
fn listing_filters_by_status_and_owner() {
    let db = testing::db();
    let mine = submit(&db, &config(10), new_job("key_a", Tier::Free), 0).expect("a");
    let theirs = submit(&db, &config(10), new_job("key_b", Tier::Free), 1).expect("b");
    lifecycle::cancel(&db, &theirs.id, 2).expect("cancel");

    let ids = |filter: JobFilter| -> Vec<String> {
        let page = list(&db, &filter).expect("list");
        page.items.into_iter().map(|j| j.id).collect()
    };
    let by_owner = JobFilter {
        owner: Some("key_a".into()),
        limit: 10,
        ..JobFilter::default()
    };
    assert_eq!(ids(by_owner), [mine.id.clone()]);
    let canceled = JobFilter {
        status: Some(JobStatus::Canceled),
        limit: 10,
        ..JobFilter::default()
    };
    assert_eq!(ids(canceled), [theirs.id.clone()]);
    let none = JobFilter {
        status: Some(JobStatus::Queued),
        owner: Some("key_b".into()),
        limit: 10,
        ..JobFilter::default()
    };
    assert_eq!(ids(none), Vec::<String>::new());
}

#[test]
fn listing_refuses_bad_limits_and_cursors() {
    let db = testing::db();
    let filter = |limit, cursor: Option<&str>| JobFilter {
        limit,
        cursor: cursor.map(str::to_string),
        ..JobFilter::default()
    };
    assert_eq!(
        list(&db, &filter(0, None)),
        Err(Error::invalid(
            "limit",
            "limit_out_of_range",
            "limit 0 is out of range; pass 1 to 100"
        ))
    );
    assert!(matches!(
        list(&db, &filter(101, None)),
        Err(Error::Invalid(e)) if e.field == "limit"
    ));
    assert_eq!(
        list(&db, &filter(10, Some("garbage!"))),
        Err(Error::invalid(
            "cursor",
            "invalid_cursor",
            "cursor \"garbage!\" was not made by this listing; pass the next_cursor of the \
             previous page, or none for the first page"
        ))
    );
}

#[test]
fn counts_report_every_status_in_order_with_zeros() {
    let db = testing::db();
    assert_eq!(
        counts(&db),
        Ok(JobStatus::ALL.iter().map(|s| (*s, 0)).collect())
    );
    let a = testing::submit(&db, Tier::Free, 0);
    testing::submit(&db, Tier::Free, 1);
    testing::submit(&db, Tier::Premium, 2);
    lifecycle::cancel(&db, &a.id, 3).expect("cancel");
    testing::lease(&db, "w1", 4).expect("a queued job");
    assert_eq!(
        counts(&db),
        Ok(vec![
            (JobStatus::Queued, 1),
            (JobStatus::Running, 1),
            (JobStatus::Storing, 0),
            (JobStatus::Succeeded, 0),
            (JobStatus::Failed, 0),
            (JobStatus::Canceled, 1),
        ])
    );
}

fn keyed(key: &str, hash: &str) -> NewJob {
    NewJob {
        idempotency_key: Some(key.into()),
        request_hash: Some(hash.into()),
        ..new_job("key_1", Tier::Premium)
    }
}

#[test]
fn the_same_key_and_request_return_the_first_job() {
    let db = testing::db();
    let first = super::submit(&db, &config(10), keyed("order-7", "aa"), 0).expect("stored");
    let again = super::submit(&db, &config(10), keyed("order-7", "aa"), SECOND).expect("same");
    assert_eq!((first.replayed, again.replayed), (false, true));
    assert_eq!(again.job, first.job);
    assert_eq!(first.job.idempotency_key.as_deref(), Some("order-7"));
    assert_eq!(row_count(&db), 1);
}

#[test]
fn the_same_key_with_another_request_is_a_conflict() {
    let db = testing::db();
    let first = submit(&db, &config(10), keyed("order-7", "aa"), 0).expect("stored");
    assert_eq!(
        submit(&db, &config(10), keyed("order-7", "bb"), SECOND),
        Err(Error::Conflict(format!(
            "idempotency key \"order-7\" was used for job {} with a different request; send a \
             new key for a new request, or the same request to get that job",
            first.id
        )))
    );
    assert_eq!(row_count(&db), 1);
}

#[test]
fn keys_belong_to_their_owner() {
    let db = testing::db();
    let mine = submit(&db, &config(10), keyed("k", "aa"), 0).expect("mine");
    let theirs = NewJob {
        owner: "key_2".into(),
        ..keyed("k", "aa")
    };
    let theirs = submit(&db, &config(10), theirs, 0).expect("theirs");
    assert_ne!(mine.id, theirs.id);
}

#[test]
fn a_replay_is_answered_even_when_the_queue_is_full() {
    let db = testing::db();
    let first = submit(&db, &config(1), keyed("k", "aa"), 0).expect("room");
    let again = super::submit(&db, &config(1), keyed("k", "aa"), 1).expect("the same job");
    assert_eq!((again.job.id, again.replayed), (first.id, true));
}

#[test]
fn malformed_idempotency_keys_are_refused() {
    let db = testing::db();
    for key in ["", "has space", &"x".repeat(256), "é"] {
        assert_eq!(
            submit(&db, &config(10), keyed(key, "aa"), 0),
            Err(Error::invalid(
                "Idempotency-Key",
                "invalid_idempotency_key",
                "the Idempotency-Key header must be 1 to 255 visible ASCII characters, such as \
                 a UUID"
            )),
            "{key:?}"
        );
    }
    assert_eq!(row_count(&db), 0);
}

#[test]
fn twenty_concurrent_submissions_with_one_key_make_one_job() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("queue.db");
    schema::migrate(&NativeDb::file(&path).expect("open")).expect("migrate");
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let path = path.clone();
            thread::spawn(move || {
                let db = NativeDb::file(&path).expect("open shared file");
                super::submit(&db, &config(100), keyed("same", "aa"), 0).expect("accepted")
            })
        })
        .collect();
    let results: Vec<Submitted> = handles
        .into_iter()
        .map(|h| h.join().expect("submitting thread does not panic"))
        .collect();
    let first = results.iter().filter(|r| !r.replayed).count();
    let mut ids: Vec<&str> = results.iter().map(|r| r.job.id.as_str()).collect();
    ids.dedup();
    assert_eq!((first, ids.len()), (1, 1));
    assert_eq!(row_count(&NativeDb::file(&path).expect("open")), 1);
}

#[test]
fn failed_jobs_can_be_listed_by_reason() {
    let db = testing::db();
    let a = testing::running(&db, "w", 0);
    let b = testing::running(&db, "w", 1);
    lifecycle::fail(&db, &a.id, "w", "attempts_exhausted", "gave up", 2).expect("fail a");
    lifecycle::fail(&db, &b.id, "w", "moderation", "banned", 3).expect("fail b");
    let filter = JobFilter {
        status: Some(JobStatus::Failed),
        failure_reason: Some("attempts_exhausted".into()),
        limit: 10,
        ..JobFilter::default()
    };
    let ids: Vec<String> = list(&db, &filter)
        .expect("list")
        .items
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, [a.id]);
}

#[test]
fn a_replay_finds_the_job_of_a_used_key_only() {
    let db = testing::db();
    assert_eq!(replay(&db, "key_1", "order-7", "aa"), Ok(None));
    let first = submit(&db, &config(10), keyed("order-7", "aa"), 0).expect("stored");
    assert_eq!(
        replay(&db, "key_1", "order-7", "aa"),
        Ok(Some(first.clone()))
    );
    assert_eq!(replay(&db, "key_2", "order-7", "aa"), Ok(None));
    assert!(matches!(
        replay(&db, "key_1", "order-7", "bb"),
        Err(Error::Conflict(m)) if m.starts_with("idempotency key \"order-7\" was used for job")
    ));
}
