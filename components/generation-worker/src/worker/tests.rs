use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;

use super::*;
use crate::ports::{HttpRequest, JobStatus, Method};
use crate::testing::{FakeClock, FakeHttp, FakeWakeups, QueueJobs, png_bytes, reply};

const BASE: &str = "http://mj";
const SUBMIT: &str = "http://mj/mj/submit/imagine";
const FETCH: &str = "http://mj/mj/task/42/fetch";
const IMAGE: &str = "http://cdn.example.com/42.png";
const HOOK: &str = "http://hooks.example.com/jobs";
const START: u64 = 1_796_333_433_000;

fn config() -> Config {
    Config {
        provider_url: BASE.into(),
        provider_api_secret: Some("mj-secret".into()),
        poll_interval: Duration::from_millis(250),
        run_timeout: Duration::from_secs(2),
        webhook_secret: "whsec".into(),
        redis_address: "redis://127.0.0.1:6379".into(),
        jobs_channel: "promptmesh-jobs".into(),
    }
}

/// A fake world and a worker in it.
struct World {
    config: Config,
    http: FakeHttp,
    clock: &'static FakeClock,
    wakeups: FakeWakeups,
}

impl World {
    fn new() -> World {
        World {
            config: config(),
            http: FakeHttp::new(),
            // Leaked so that the queue and the hooks can share it for the whole test.
            clock: Box::leak(Box::new(FakeClock::new(START))),
            wakeups: FakeWakeups::default(),
        }
    }

    fn queue(&self) -> QueueJobs<'static> {
        QueueJobs::new(self.clock)
    }

    fn handle(&self, jobs: &QueueJobs<'_>) -> Handled {
        let worker = Worker {
            config: &self.config,
            http: &self.http,
            jobs,
            clock: self.clock,
            wakeups: &self.wakeups,
            name: "worker-1",
        };
        worker.handle().expect("the queue answers")
    }

    /// The provider accepts the prompt as task 42.
    fn accepts(&self) {
        self.http.script(
            "POST",
            SUBMIT,
            vec![reply(200, r#"{"code":1,"description":"ok","result":"42"}"#)],
        );
    }

    /// Task 42 reports these `(status, progress, imageUrl)` on successive fetches.
    fn reports(&self, states: &[(&str, &str, &str)]) {
        let replies = states
            .iter()
            .map(|(status, progress, url)| {
                let task = serde_json::json!({
                    "id": "42", "action": "IMAGINE", "status": status, "progress": progress,
                    "imageUrl": url, "failReason": "",
                    // What the provider says it ran differs from what was sent (C01).
                    "prompt": "<https://s.mj.run/ref.png> a red fox --ar 1:1",
                    "promptEn": "<https://s.mj.run/ref.png> a red fox --ar 1:1",
                });
                reply(200, &task.to_string())
            })
            .collect();
        self.http.script("GET", FETCH, replies);
    }

    fn finished(&self, jobs: &QueueJobs<'_>) -> (Job, Option<Delivery>) {
        match self.handle(jobs) {
            Handled::Finished { job, delivery } => (job, delivery),
            Handled::Idle => panic!("a job was queued"),
        }
    }
}

fn urls(requests: &[HttpRequest]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            let method = if r.method == Method::Get {
                "GET"
            } else {
                "POST"
            };
            format!("{method} {}", r.url)
        })
        .collect()
}

#[test]
fn an_empty_queue_does_nothing() {
    let world = World::new();
    let jobs = world.queue();
    assert_eq!(world.handle(&jobs), Handled::Idle);
    assert_eq!(world.http.requests(), vec![]);
    assert_eq!(*world.wakeups.published.borrow(), vec![]);
}

#[test]
fn a_job_runs_to_succeeded_with_the_downloaded_image_stored_first() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox --ar 1:1", None);
    world.accepts();
    world.reports(&[
        ("SUBMITTED", "0%", ""),
        ("IN_PROGRESS", "50%", ""),
        ("SUCCESS", "100%", IMAGE),
    ]);
    let image = png_bytes(8, 4);
    world.http.script_results(
        "GET",
        IMAGE,
        vec![Ok(crate::ports::HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "image/png".into())],
            body: image.clone(),
        })],
    );

    let (job, delivery) = world.finished(&jobs);
    assert_eq!(delivery, None);
    assert_eq!(job.id, submitted.id);
    assert_eq!(
        (
            job.status,
            job.progress,
            job.attempts,
            job.provider_task_id.as_deref()
        ),
        (JobStatus::Succeeded, 100, 1, Some("42"))
    );
    let image_id = job.image_id.clone().expect("an image");
    assert_eq!(jobs.image_bytes(&image_id), image);
    assert_eq!(
        urls(&world.http.requests()),
        [
            format!("POST {SUBMIT}"),
            format!("GET {FETCH}"),
            format!("GET {FETCH}"),
            format!("GET {FETCH}"),
            format!("GET {IMAGE}"),
        ]
    );
    let submit: Value = serde_json::from_slice(&world.http.requests()[0].body).expect("JSON");
    assert_eq!(submit["prompt"], "a red fox --ar 1:1");
    assert_eq!(submit["state"], submitted.id.as_str());
    assert_eq!(world.clock.sleeps(), vec![250, 250, 250]);
    assert_eq!(job.finished_at, Some(START + 750));
}

#[test]
fn a_download_that_keeps_failing_fails_the_job_without_an_image() {
    let world = World::new();
    let jobs = world.queue();
    jobs.submit("a red fox", None);
    world.accepts();
    world.reports(&[("SUCCESS", "100%", IMAGE)]);
    // The URL expired after the provider's own first fetch (C09).
    world.http.script("GET", IMAGE, vec![reply(403, "expired")]);

    let (job, _) = world.finished(&jobs);
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.failure_reason.as_deref(), Some("download_failed"));
    assert_eq!(
        job.failure_message.as_deref(),
        Some(
            "downloading http://cdn.example.com/42.png failed after 4 attempts: HTTP 403: expired"
        )
    );
    assert_eq!(jobs.image_count(), 0);
    assert_eq!(world.http.requests_to(IMAGE).len(), 4);
}

#[test]
fn a_download_that_fails_then_works_is_retried_while_the_job_is_storing() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox", None);
    world.accepts();
    world.reports(&[("SUCCESS", "100%", IMAGE)]);
    let image = png_bytes(2, 2);
    world.http.script_results(
        "GET",
        IMAGE,
        vec![
            Err(crate::ports::TransportError("connection reset".into())),
            Ok(reply(502, "")),
            Ok(crate::ports::HttpResponse {
                status: 200,
                headers: Vec::new(),
                body: image.clone(),
            }),
        ],
    );
    // Each download attempt sees the job storing, never succeeded.
    let seen = Rc::new(std::cell::RefCell::new(Vec::new()));
    let (db, id, log) = (jobs.db.clone(), submitted.id.clone(), seen.clone());
    world.http.on_send(move |request| {
        if request.url == IMAGE {
            let job = queue_service::jobs::get(db.as_ref(), &id).expect("job");
            log.borrow_mut().push(job.status.as_str());
        }
    });

    let (job, _) = world.finished(&jobs);
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(*seen.borrow(), ["storing", "storing", "storing"]);
    assert_eq!(
        jobs.image_bytes(job.image_id.as_deref().expect("image")),
        image
    );
}

#[test]
fn a_silent_provider_fails_the_job_at_the_run_timeout() {
    let world = World::new();
    let jobs = world.queue();
    jobs.submit("a red fox", None);
    world.accepts();
    // 85% and then nothing new, for ever (C04).
    world.reports(&[("IN_PROGRESS", "85%", "")]);

    let (job, _) = world.finished(&jobs);
    assert_eq!(
        (job.status, job.failure_reason.as_deref(), job.progress),
        (JobStatus::Failed, Some("timeout"), 85)
    );
    assert_eq!(
        job.failure_message.as_deref(),
        Some("the provider reached no final state for task `42` within 2 s (last progress 85%)")
    );
    // 2 s of 250 ms polls.
    assert_eq!(world.http.requests_to(FETCH).len(), 8);
    assert_eq!(job.finished_at, Some(START + 2000));
}

#[test]
fn a_provider_failure_and_a_banned_prompt_are_final_with_their_reasons() {
    let world = World::new();
    let jobs = world.queue();
    jobs.submit("a red fox", None);
    world.accepts();
    let failed = serde_json::json!({"id": "42", "status": "FAILURE", "progress": "0%",
        "failReason": "Invalid parameter: --ar 1:0"});
    world
        .http
        .script("GET", FETCH, vec![reply(200, &failed.to_string())]);
    let (job, _) = world.finished(&jobs);
    assert_eq!(
        (
            job.failure_reason.as_deref(),
            job.failure_message.as_deref()
        ),
        (Some("provider_failed"), Some("Invalid parameter: --ar 1:0"))
    );

    let world = World::new();
    let jobs = world.queue();
    jobs.submit("a nude figure", None);
    let banned = r#"{"code":24,"description":"banned","properties":{"bannedWord":"nude"}}"#;
    world.http.script("POST", SUBMIT, vec![reply(200, banned)]);
    let (job, _) = world.finished(&jobs);
    assert_eq!(
        (job.status, job.failure_reason.as_deref()),
        (JobStatus::Failed, Some("moderation"))
    );
    assert_eq!(urls(&world.http.requests()), [format!("POST {SUBMIT}")]);
}

#[test]
fn a_job_canceled_while_it_runs_stays_canceled() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox", Some(HOOK));
    world.accepts();
    world.reports(&[("IN_PROGRESS", "10%", "")]);
    world.http.script("POST", HOOK, vec![reply(200, "")]);
    let (db, id) = (jobs.db.clone(), submitted.id.clone());
    world.http.on_send(move |request| {
        if request.url == FETCH {
            // The client cancels once the provider has the task; the next check sees it.
            let _ = queue_service::lifecycle::cancel(db.as_ref(), &id, START + 1);
        }
    });

    let (job, delivery) = world.finished(&jobs);
    assert_eq!(job.status, JobStatus::Canceled);
    assert_eq!(world.http.requests_to(FETCH).len(), 1);
    let delivery = delivery.expect("the callback is told");
    assert_eq!(
        delivery.event_id,
        webhook::event_id(&submitted.id, "canceled")
    );
    let hook = &world.http.requests_to(HOOK)[0];
    let body: Value = serde_json::from_slice(&hook.body).expect("JSON");
    assert_eq!(body["type"], "job.canceled");
}

#[test]
fn the_callback_gets_the_final_state_signed() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("Tom & Jerry \"classic\" <3", Some(HOOK));
    world.accepts();
    world.reports(&[("SUCCESS", "100%", IMAGE)]);
    world.http.script_results(
        "GET",
        IMAGE,
        vec![Ok(crate::ports::HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: png_bytes(1, 1),
        })],
    );
    world
        .http
        .script("POST", HOOK, vec![reply(503, ""), reply(200, "")]);

    let (job, delivery) = world.finished(&jobs);
    let event_id = webhook::event_id(&submitted.id, "succeeded");
    assert_eq!(
        delivery,
        Some(Delivery {
            event_id: event_id.clone(),
            attempts: 2,
            failure: None
        })
    );
    let hooks = world.http.requests_to(HOOK);
    assert_eq!(hooks.len(), 2);
    for hook in &hooks {
        let body = String::from_utf8(hook.body.clone()).expect("UTF-8");
        assert_eq!(body, webhook::body(&job));
        let timestamp: u64 = hook
            .header(webhook::TIMESTAMP_HEADER)
            .expect("timestamp")
            .parse()
            .expect("seconds");
        assert_eq!(
            hook.header(webhook::SIGNATURE_HEADER),
            Some(webhook::signature("whsec", timestamp, &body).as_str())
        );
        assert_eq!(
            hook.header(webhook::EVENT_ID_HEADER),
            Some(event_id.as_str())
        );
    }
    let body: Value = serde_json::from_slice(&hooks[0].body).expect("JSON");
    assert_eq!(body["job"]["prompt"], "Tom & Jerry \"classic\" <3");
}

#[test]
fn the_next_worker_is_woken_while_jobs_wait() {
    let world = World::new();
    let jobs = world.queue();
    jobs.submit("first", None);
    jobs.submit("second", None);
    world.accepts();
    world.reports(&[("FAILURE", "0%", "")]);
    world.finished(&jobs);
    assert_eq!(
        *world.wakeups.published.borrow(),
        vec![(
            "redis://127.0.0.1:6379".to_string(),
            "promptmesh-jobs".to_string(),
            "next".to_string()
        )]
    );
    world.finished(&jobs);
    assert_eq!(
        world.wakeups.published.borrow().len(),
        1,
        "nothing waits any more"
    );
    assert_eq!(world.handle(&jobs), Handled::Idle);
}
