//! The job pipeline against a misbehaving provider: every accepted job reaches exactly one
//! final state, whatever the provider does. The field cases C01, C04, C08, C09 and C14, the
//! provider's error answers, callbacks, dead letters, the queue-wait timeout and idempotent
//! submission, each with exact expected values.

mod support;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use support::app::{ADMIN, App, WEBHOOK_SECRET, error, with_provider};
use support::provider::{Answer, FakeProvider, PNG, Plan};
use support::{Captured, read_request, write_response};

const FINAL: Duration = Duration::from_secs(30);

fn generate(app: &App, key: &str, body: &Value) -> String {
    let reply = app.post("/api/generate", key, body);
    assert_eq!(reply.status, 202, "{}", reply.body);
    reply.json()["id"].as_str().expect("job id").to_string()
}

/// The job's history as `(status, attempt, reason)`.
fn history(job: &Value) -> Vec<(String, u64, Option<String>)> {
    job["history"]
        .as_array()
        .expect("a history")
        .iter()
        .map(|t| {
            (
                t["status"].as_str().expect("status").to_string(),
                t["attempt"].as_u64().expect("attempt"),
                t["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn change(status: &str, attempt: u64, reason: Option<&str>) -> (String, u64, Option<String>) {
    (status.to_string(), attempt, reason.map(str::to_string))
}

/// A callback receiver that answers request `n` (from 0) as `answer(n)` says: `Some(status)`
/// answers it, `None` closes the connection without an answer, as a receiver that timed
/// out would look to its sender. Every request is kept.
fn receiver(answer: fn(usize) -> Option<u16>) -> (String, Arc<Mutex<Vec<Captured>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding the receiver");
    let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let Some(request) = read_request(&stream) else {
                continue;
            };
            let n = {
                let mut seen = kept.lock().expect("receiver lock");
                seen.push(request);
                seen.len() - 1
            };
            match answer(n) {
                Some(status) => write_response(&stream, status, &[], b""),
                None => drop(stream),
            }
        }
    });
    (url, seen)
}

fn body_of(request: &Captured) -> Value {
    serde_json::from_str(&request.body).expect("a JSON body")
}

fn signed_correctly(request: &Captured) -> bool {
    let timestamp = request.header("x-promptmesh-timestamp").expect("timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.{}", request.body).as_bytes());
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    request.header("x-promptmesh-signature") == Some(expected.as_str())
}

#[test]
fn c01_a_task_is_followed_by_its_id_when_the_provider_rewrites_the_prompt() {
    let provider = FakeProvider::start();
    let app = with_provider(&provider, vec![], vec![]);
    let prompt = "a red fox in snow --cref https://example.com/ref.png --v 6.1";
    let id = generate(&app, ADMIN, &json!({ "prompt": prompt }));
    let job = app.wait_final(&id, ADMIN, FINAL);

    let submissions = provider.submissions();
    assert_eq!(submissions.len(), 1);
    assert_eq!(submissions[0].prompt, prompt);
    assert_eq!(submissions[0].state, format!("{id}:1"));
    // The provider reports `<https://s.mj.run/ref.png> a red fox ...`, which is not what
    // was sent; the task id alone ties it to the job.
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        job["provider_task_id"].as_str(),
        submissions[0].task_id.as_deref()
    );
}

#[test]
fn c04_a_task_stalled_at_85_percent_fails_at_the_run_timeout_and_is_notified_once() {
    let provider = FakeProvider::start();
    provider.plan(Plan::Stall(85));
    let app = with_provider(&provider, vec![("run_timeout_seconds", "2".into())], vec![]);
    let (hook, received) = receiver(|_| Some(200));
    let started = Instant::now();
    let id = generate(
        &app,
        ADMIN,
        &json!({ "prompt": "a silent provider", "callback_url": hook }),
    );
    let job = app.wait_final(&id, ADMIN, FINAL);
    let took = started.elapsed();

    assert_eq!(
        (&job["status"], &job["progress"], &job["failure"]["reason"]),
        (&json!("failed"), &json!(85), &json!("run_timeout"))
    );
    let task = job["provider_task_id"].as_str().expect("a task");
    assert_eq!(
        job["failure"]["message"],
        format!(
            "the provider reached no final state for task `{task}` within 2 s (last progress 85%)"
        )
    );
    assert!(took >= Duration::from_secs(2), "failed after {took:?}");
    assert_eq!(
        history(&job),
        [
            change("queued", 0, None),
            change("running", 1, None),
            change("failed", 1, Some("run_timeout")),
        ]
    );
    // Give a duplicate time to show, then count: one notice of the failure.
    std::thread::sleep(Duration::from_secs(1));
    let types: Vec<String> = received
        .lock()
        .expect("receiver lock")
        .iter()
        .map(|r| body_of(r)["type"].as_str().expect("type").to_string())
        .collect();
    assert_eq!(types, ["job.running", "job.failed"]);
}

#[test]
fn c08_rate_limits_are_waited_out_and_make_one_task() {
    let provider = FakeProvider::start();
    provider.script_submits(vec![
        Answer::Status(429, Some(2)),
        Answer::Status(429, Some(2)),
    ]);
    let app = with_provider(&provider, vec![], vec![]);
    let started = Instant::now();
    let id = generate(&app, ADMIN, &json!({ "prompt": "a patient fox" }));
    let job = app.wait_final(&id, ADMIN, FINAL);

    assert_eq!(
        (&job["status"], &job["attempts"]),
        (&json!("succeeded"), &json!(1))
    );
    let submissions = provider.submissions();
    let tasks: Vec<&str> = submissions
        .iter()
        .filter_map(|s| s.task_id.as_deref())
        .collect();
    assert_eq!(submissions.len(), 3, "two refusals and the accepted submit");
    assert_eq!(tasks, [job["provider_task_id"].as_str().expect("task")]);
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "Retry-After was honoured"
    );
}

#[test]
fn c09_an_image_served_once_is_stored_before_success_and_served_from_here() {
    let provider = FakeProvider::start();
    provider.image_once();
    let app = with_provider(&provider, vec![], vec![]);
    let id = generate(&app, ADMIN, &json!({ "prompt": "a fleeting fox" }));
    let job = app.wait_final(&id, ADMIN, FINAL);
    assert_eq!(job["status"], "succeeded", "{job}");

    let task = job["provider_task_id"].as_str().expect("task");
    assert_eq!(provider.downloads(task), 1);
    let expired = support::client()
        .get(provider.image_url(task))
        .send()
        .expect("the provider answers");
    assert_eq!(expired.status(), 410, "the provider's URL has expired");
    let image_id = job["image"]["id"].as_str().expect("image");
    let ours = support::client()
        .get(app.host.url(&format!("/api/images/{image_id}")))
        .bearer_auth(ADMIN)
        .send()
        .expect("the image");
    assert_eq!(ours.status(), 200);
    assert_eq!(ours.bytes().expect("bytes").as_ref(), PNG);
}

#[test]
fn c09_a_failing_download_keeps_the_job_storing_until_a_later_attempt_stores_it() {
    let provider = FakeProvider::start();
    // One attempt downloads 4 times before it gives up.
    provider.script_images(vec![
        Answer::Status(500, None),
        Answer::Reset,
        Answer::Status(503, None),
        Answer::Status(502, None),
    ]);
    let app = with_provider(&provider, vec![], vec![]);
    let id = generate(&app, ADMIN, &json!({ "prompt": "a stubborn fox" }));
    let job = app.wait_final(&id, ADMIN, FINAL);

    assert_eq!(
        (&job["status"], &job["attempts"]),
        (&json!("succeeded"), &json!(2))
    );
    assert_eq!(
        history(&job),
        [
            change("queued", 0, None),
            change("running", 1, None),
            change("storing", 1, None),
            change("storing", 1, Some("download_failed")),
            change("storing", 2, Some("retry")),
            change("succeeded", 2, None),
        ]
    );
    assert_eq!(
        provider.submissions().len(),
        1,
        "stored, not generated again"
    );
    let task = job["provider_task_id"].as_str().expect("task");
    assert_eq!(provider.downloads(task), 1);
}

#[test]
fn c14_a_missed_notification_comes_again_with_the_same_id_and_a_valid_signature() {
    let provider = FakeProvider::start();
    let app = with_provider(&provider, vec![], vec![]);
    // running and storing go through; the first delivery of succeeded gets no answer.
    let (hook, received) = receiver(|n| (n != 2).then_some(200));
    let id = generate(
        &app,
        ADMIN,
        &json!({ "prompt": "Tom & Jerry \"classic\" <3 猫猫 🐱", "callback_url": hook }),
    );
    app.wait_final(&id, ADMIN, FINAL);
    let job = support::eventually(Duration::from_secs(10), || {
        let job = app.get(&format!("/api/jobs/{id}"), ADMIN).json();
        (job["notifications"][2]["state"] == "delivered").then_some(job)
    })
    .expect("the succeeded notification is delivered in the end");

    let deliveries = received.lock().expect("receiver lock").clone();
    assert_eq!(deliveries.len(), 4);
    let (missed, again) = (&deliveries[2], &deliveries[3]);
    assert_eq!(missed.body, again.body, "the same bytes");
    let event_id = missed.header("x-promptmesh-event-id").expect("event id");
    assert_eq!(again.header("x-promptmesh-event-id"), Some(event_id));
    assert!(signed_correctly(missed) && signed_correctly(again));
    let body = body_of(again);
    assert_eq!(
        (&body["id"], &body["type"], &body["job"]["prompt"]),
        (
            &json!(event_id),
            &json!("job.succeeded"),
            &json!("Tom & Jerry \"classic\" <3 猫猫 🐱")
        )
    );
    let record = &job["notifications"][2];
    assert_eq!(
        (&record["event_id"], &record["attempts"]),
        (&json!(event_id), &json!(2))
    );
    let error = record["last_error"].as_str().expect("the failure is kept");
    assert!(error.starts_with(&format!("POST {hook}: ")), "{error}");
}

#[test]
fn server_errors_and_resets_are_retried_within_the_attempt() {
    let provider = FakeProvider::start();
    provider.script_submits(vec![Answer::Status(502, None), Answer::Reset]);
    let app = with_provider(&provider, vec![], vec![]);
    let id = generate(&app, ADMIN, &json!({ "prompt": "a resilient fox" }));
    let job = app.wait_final(&id, ADMIN, FINAL);
    assert_eq!(
        (&job["status"], &job["attempts"]),
        (&json!("succeeded"), &json!(1))
    );
    let states: Vec<String> = provider
        .submissions()
        .into_iter()
        .map(|s| s.state)
        .collect();
    let state = format!("{id}:1");
    assert_eq!(states, [state.clone(), state.clone(), state]);
}

#[test]
fn a_busy_provider_is_tried_again_later_with_one_submission_per_attempt() {
    let provider = FakeProvider::start();
    provider.script_submits(vec![Answer::Code(23), Answer::Code(23)]);
    let app = with_provider(&provider, vec![], vec![]);
    let id = generate(&app, ADMIN, &json!({ "prompt": "a queued fox" }));
    let job = app.wait_final(&id, ADMIN, FINAL);

    assert_eq!(
        (&job["status"], &job["attempts"]),
        (&json!("succeeded"), &json!(3))
    );
    let states: Vec<String> = provider
        .submissions()
        .into_iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(
        states,
        [format!("{id}:1"), format!("{id}:2"), format!("{id}:3")]
    );
    assert_eq!(
        history(&job)[..6],
        [
            change("queued", 0, None),
            change("running", 1, None),
            change("queued", 1, Some("provider_busy")),
            change("running", 2, None),
            change("queued", 2, Some("provider_busy")),
            change("running", 3, None),
        ]
    );
}

#[test]
fn a_banned_prompt_is_final_and_never_retried() {
    let provider = FakeProvider::start();
    provider.script_submits(vec![Answer::Code(24)]);
    let app = with_provider(&provider, vec![], vec![]);
    let id = generate(&app, ADMIN, &json!({ "prompt": "a fox at the beach" }));
    let job = app.wait_final(&id, ADMIN, FINAL);
    assert_eq!(
        (&job["status"], &job["failure"]["reason"], &job["attempts"]),
        (&json!("failed"), &json!("moderation"), &json!(1))
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(provider.submissions().len(), 1);
}

#[test]
fn provider_callbacks_alone_complete_a_job_when_every_poll_fails() {
    let provider = FakeProvider::start();
    provider.fetches_default(Some(Answer::Status(503, None)));
    provider.send_callbacks();
    // The provider reaches the host through a relay, since the host's port is known only
    // once it has started.
    let relay = support::relay();
    let app = with_provider(&provider, vec![("public_url", relay.url.clone())], vec![]);
    relay.point_at(&app.host.base);

    let id = generate(&app, ADMIN, &json!({ "prompt": "a fox told by callback" }));
    let job = app.wait_final(&id, ADMIN, FINAL);
    assert_eq!(job["status"], "succeeded", "{job}");
    let hook = &provider.submissions()[0].notify_hook;
    assert!(
        hook.starts_with(&format!("{}/api/provider/hooks/{id}?token=", relay.url)),
        "{hook}"
    );
    assert!(
        provider
            .requests()
            .iter()
            .filter(|r| r.ends_with("/fetch"))
            .count()
            >= 1
    );

    // A callback with another job's token is refused and records nothing.
    let forged = support::client()
        .post(app.host.url(&format!("/api/provider/hooks/{id}?token=00")))
        .json(&json!({ "id": "1", "status": "FAILURE" }))
        .send()
        .expect("the host answers");
    assert_eq!(forged.status(), 401);
    let body: Value = forged.json().expect("JSON");
    assert_eq!(body["error"]["code"], "invalid_hook_token");
}

#[test]
fn dead_letters_are_listed_and_an_operator_requeues_them() {
    let provider = FakeProvider::start();
    // Two attempts of four submits each, all 500.
    provider.script_submits(vec![Answer::Status(500, None); 8]);
    let app = with_provider(&provider, vec![("max_attempts", "2".into())], vec![]);
    let id = generate(&app, ADMIN, &json!({ "prompt": "an unlucky fox" }));
    let job = app.wait_final(&id, ADMIN, FINAL);
    assert_eq!(
        (&job["status"], &job["failure"]["reason"], &job["attempts"]),
        (&json!("failed"), &json!("attempts_exhausted"), &json!(2))
    );
    let dead = app
        .get("/api/jobs?status=failed&reason=attempts_exhausted", ADMIN)
        .json();
    assert_eq!(dead["items"][0]["id"], id.as_str());

    let user = app.key("carol", "premium");
    let path = format!("/api/jobs/{id}/requeue");
    assert_eq!(
        error(&app.post(&path, &user, &json!({})), 403)["code"],
        "forbidden"
    );
    let requeued = app.post(&path, ADMIN, &json!({}));
    assert_eq!(requeued.status, 200, "{}", requeued.body);
    assert_eq!(
        (&requeued.json()["status"], &requeued.json()["attempts"]),
        (&json!("queued"), &json!(0))
    );
    let job = app.wait_final(&id, ADMIN, FINAL);
    assert_eq!(
        (&job["status"], &job["attempts"]),
        (&json!("succeeded"), &json!(1))
    );
    let again = error(&app.post(&path, ADMIN, &json!({})), 409);
    assert_eq!(again["code"], "conflict");
}

#[test]
fn a_job_that_waits_past_the_queue_timeout_fails_without_running() {
    let provider = FakeProvider::start();
    provider.plan(Plan::Succeed {
        after: Duration::from_millis(2500),
    });
    let app = with_provider(
        &provider,
        vec![("queue_timeout_seconds", "1".into())],
        vec![("message_concurrency = 8", "message_concurrency = 1")],
    );
    let first = generate(&app, ADMIN, &json!({ "prompt": "the first fox" }));
    support::eventually(Duration::from_secs(5), || {
        (provider.submissions().len() == 1).then_some(())
    })
    .expect("the first job runs");
    let second = generate(&app, ADMIN, &json!({ "prompt": "the second fox" }));

    let waited = app.wait_final(&second, ADMIN, FINAL);
    assert_eq!(
        (
            &waited["status"],
            &waited["failure"]["reason"],
            &waited["attempts"]
        ),
        (&json!("failed"), &json!("queue_timeout"), &json!(0))
    );
    assert_eq!(app.wait_final(&first, ADMIN, FINAL)["status"], "succeeded");
    assert_eq!(provider.submissions().len(), 1);
}

#[test]
fn twenty_concurrent_submissions_with_one_idempotency_key_make_one_job() {
    let provider = FakeProvider::start();
    let app = with_provider(&provider, vec![], vec![]);
    let user = app.key("dave", "premium");
    let body = json!({ "prompt": "exactly one fox", "callback_url": "http://127.0.0.1:9/x" });
    let answers: Vec<(u16, String, bool)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let request = support::client()
                    .post(app.host.url("/api/generate"))
                    .bearer_auth(&user)
                    .header("idempotency-key", "order-2026-12-04-0001")
                    .json(&body);
                scope.spawn(move || {
                    let reply = request.send().expect("the host answers");
                    let status = reply.status().as_u16();
                    let replayed = reply.headers().contains_key("idempotent-replayed");
                    let job: Value = reply.json().expect("JSON");
                    (
                        status,
                        job["id"].as_str().unwrap_or_default().to_string(),
                        replayed,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("the thread ends"))
            .collect()
    });
    let first = &answers[0].1;
    assert!(
        answers
            .iter()
            .all(|(status, id, _)| *status == 202 && id == first)
    );
    assert_eq!(
        answers.iter().filter(|(_, _, replayed)| !replayed).count(),
        1
    );
    let jobs = app.get("/api/jobs", &user).json();
    assert_eq!(jobs["items"].as_array().expect("items").len(), 1);

    let other = support::client()
        .post(app.host.url("/api/generate"))
        .bearer_auth(&user)
        .header("idempotency-key", "order-2026-12-04-0001")
        .json(&json!({ "prompt": "another fox" }))
        .send()
        .expect("the host answers");
    assert_eq!(other.status(), 409);
    let refused: Value = other.json().expect("JSON");
    assert_eq!(
        (&refused["error"]["code"], &refused["error"]["field"]),
        (&json!("idempotency_key_reused"), &json!("Idempotency-Key"))
    );
    let two_keys = support::client()
        .post(app.host.url("/api/generate"))
        .bearer_auth(&user)
        .header("idempotency-key", "a")
        .header("idempotency-key", "b")
        .json(&body)
        .send()
        .expect("the host answers");
    assert_eq!(two_keys.status(), 400);
    let refused: Value = two_keys.json().expect("JSON");
    assert_eq!(
        refused["error"]["message"],
        "the request has 2 Idempotency-Key headers; send one"
    );
    app.wait_final(first, &user, FINAL);
    assert_eq!(provider.submissions().len(), 1);
}
