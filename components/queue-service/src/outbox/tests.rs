use super::*;
use crate::lifecycle;
use crate::model::NotificationState;
use crate::testing::{self, SECOND, running};

fn config(notify_max_attempts: u32) -> Config {
    Config {
        notify_max_attempts,
        notify_backoff_ms: 1000,
        ..testing::config(1000)
    }
}

#[test]
fn event_ids_are_stable_per_change() {
    assert_eq!(event_id("job_1", 4), event_id("job_1", 4));
    assert_ne!(event_id("job_1", 4), event_id("job_1", 5));
    assert_eq!(event_id("job_1", 4).len(), "evt_".len() + 24);
}

#[test]
fn the_body_carries_the_change_and_the_job_with_characters_kept() {
    let db = testing::db();
    let job = running(&db, "w", 0);
    let failed = lifecycle::fail(&db, &job.id, "w", "moderation", "banned `nude`", 2 * SECOND)
        .expect("failed");
    let sent = list(&db, &job.id)
        .expect("notifications")
        .pop()
        .expect("one");
    let body: serde_json::Value = serde_json::from_str(&sent.body).expect("JSON");
    assert_eq!(
        body,
        json!({
            "id": sent.id,
            "type": "job.failed",
            "sequence": 3,
            "created_at": "1970-01-01T00:00:02.000Z",
            "job": {
                "id": failed.id,
                "status": "failed",
                "progress": 0,
                "prompt": "a red fox in snow --ar 16:9",
                "template": { "id": "tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V", "version": 3 },
                "attempts": 1,
                "failure": { "reason": "moderation", "message": "banned `nude`" },
                "image": null,
                "provider_task_id": null,
                "status_url": format!("/api/jobs/{}", failed.id),
                "created_at": "1970-01-01T00:00:00.000Z",
                "finished_at": "1970-01-01T00:00:02.000Z",
            }
        })
    );
}

#[test]
fn claims_take_each_jobs_earliest_pending_change_and_hold_it() {
    let db = testing::db();
    let a = running(&db, "w", 0);
    let b = running(&db, "w", 1);
    lifecycle::fail(&db, &a.id, "w", "moderation", "banned", 2).expect("fail a");

    let claimed = claim(&db, "n1", 10, 10).expect("claim");
    let got: Vec<(&str, u32)> = claimed.iter().map(|n| (n.job_id.as_str(), n.seq)).collect();
    let mut expected = vec![(a.id.as_str(), 2), (b.id.as_str(), 2)];
    expected.sort();
    assert_eq!(got, expected, "a's failure waits for its running event");
    assert_eq!(claim(&db, "n2", 10, 11).expect("claim"), [], "held for n1");
    let again = claim(&db, "n2", 10, 10 + CLAIM_MS).expect("claim after the hold");
    assert_eq!(again.len(), 2);
}

#[test]
fn a_delivered_change_lets_the_next_one_of_its_job_go() {
    let db = testing::db();
    let job = running(&db, "w", 0);
    lifecycle::fail(&db, &job.id, "w", "moderation", "banned", 2).expect("fail");
    let first = claim(&db, "n", 10, 10)
        .expect("claim")
        .pop()
        .expect("running");
    let done = delivered(&db, &first.id, 20).expect("delivered");
    assert_eq!(
        (done.state, done.attempts, done.delivered_at),
        (NotificationState::Delivered, 1, Some(20))
    );
    let next = claim(&db, "n", 10, 21)
        .expect("claim")
        .pop()
        .expect("failed");
    assert_eq!(next.seq, 3);
    assert_eq!(
        delivered(&db, &first.id, 22),
        Err(Error::Conflict(format!(
            "notification {} is delivered; only a pending notification records a delivery",
            first.id
        )))
    );
}

#[test]
fn failed_deliveries_back_off_then_are_abandoned_and_kept() {
    let db = testing::db();
    let job = running(&db, "w", 0);
    let config = config(3);
    let n = claim(&db, "n", 1, 0).expect("claim").pop().expect("one");

    let first = failed(&db, &config, &n.id, "HTTP 500", 1000, 0.0).expect("recorded");
    assert_eq!(
        (first.state, first.attempts, first.next_attempt_at),
        (NotificationState::Pending, 1, 1500)
    );
    let second = failed(&db, &config, &n.id, "HTTP 502", 2000, 0.0).expect("recorded");
    assert_eq!((second.attempts, second.next_attempt_at), (2, 3000));
    let last = failed(&db, &config, &n.id, "connection refused", 4000, 0.0).expect("recorded");
    assert_eq!(
        (last.state, last.attempts, last.last_error.as_deref()),
        (NotificationState::Abandoned, 3, Some("connection refused"))
    );
    assert_eq!(claim(&db, "n", 10, u64::MAX / 2).expect("claim"), []);
    assert_eq!(list(&db, &job.id).expect("kept").len(), 1);
}

#[test]
fn a_job_without_a_callback_url_queues_nothing() {
    let db = testing::db();
    let mut job = testing::new_job("key_1", crate::model::Tier::Free);
    job.callback_url = None;
    let job = crate::jobs::submit(&db, &testing::config(10), job, 0)
        .expect("stored")
        .job;
    testing::lease(&db, "w", 1).expect("leased");
    lifecycle::cancel(&db, &job.id, 2).expect("canceled");
    assert_eq!(list(&db, &job.id).expect("none"), []);
}
