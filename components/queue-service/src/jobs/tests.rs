use std::thread;

use promptmesh_guest::cursor;
use promptmesh_guest::db::{Db, NativeDb};
use promptmesh_guest::id::is_id;

use super::*;
use crate::lifecycle;
use crate::model::{Tier, Variable};
use crate::schema;
use crate::testing::{self, SECOND, config, new_job};

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
    lifecycle::lease(&db, "w1", 4)
        .expect("lease")
        .expect("a queued job");
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
