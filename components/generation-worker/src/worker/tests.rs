use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use promptmesh_guest::db::Db;
use serde_json::Value;

use super::*;
use crate::ports::{HttpRequest, HttpResponse, JobStatus, Method, TransportError};
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
        lease: Duration::from_secs(30),
        retry_backoff: Duration::from_secs(2),
        public_url: None,
    }
}

/// A fake world and workers in it.
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

    fn handle_as(&self, jobs: &QueueJobs<'_>, name: &str) -> Handled {
        let worker = Worker {
            config: &self.config,
            http: &self.http,
            jobs,
            clock: self.clock,
            wakeups: &self.wakeups,
            name,
        };
        worker.handle().expect("the queue answers")
    }

    fn handle(&self, jobs: &QueueJobs<'_>) -> Handled {
        self.handle_as(jobs, "worker-1")
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

    /// The image URL serves a PNG.
    fn serves_image(&self, png: &[u8]) {
        self.http
            .script_results("GET", IMAGE, vec![Ok(png_reply(png))]);
    }

    /// The `state` of every submit the provider got, in order.
    fn submitted_states(&self) -> Vec<String> {
        self.http
            .requests_to(SUBMIT)
            .iter()
            .map(|r| {
                let body: Value = serde_json::from_slice(&r.body).expect("JSON");
                body["state"].as_str().expect("state").to_owned()
            })
            .collect()
    }

    fn ran(&self, jobs: &QueueJobs<'_>) -> Job {
        match self.handle(jobs) {
            Handled::Ran(job) => job,
            Handled::Idle => panic!("a job was available"),
        }
    }
}

fn png_reply(png: &[u8]) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "image/png".into())],
        body: png.to_vec(),
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
    world.serves_image(&image);

    let job = world.ran(&jobs);
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
    assert_eq!(submit["state"], format!("{}:1", submitted.id));
    assert_eq!(submit["notifyHook"], "");
    assert_eq!(world.clock.sleeps(), vec![250, 250]);
    assert_eq!(job.finished_at, Some(START + 500));
    assert_eq!(
        jobs.history(&job.id),
        [
            ("queued", 0, None),
            ("running", 1, None),
            ("storing", 1, None),
            ("succeeded", 1, None),
        ]
    );
}

#[test]
fn a_failed_download_keeps_the_job_storing_and_the_next_attempt_stores_it() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox", None);
    world.accepts();
    world.reports(&[("SUCCESS", "100%", IMAGE)]);
    // The URL failed four times in a row (C09): the attempt ends, the job is not succeeded.
    let image = png_bytes(2, 2);
    let mut answers: Vec<Result<HttpResponse, TransportError>> = vec![
        Err(TransportError("connection reset".into())),
        Ok(reply(502, "")),
        Ok(reply(503, "")),
        Ok(reply(500, "")),
    ];
    answers.push(Ok(png_reply(&image)));
    world.http.script_results("GET", IMAGE, answers);

    let job = world.ran(&jobs);
    assert_eq!(
        (
            job.status,
            job.lease_owner.as_deref(),
            job.image_id.as_deref()
        ),
        (JobStatus::Storing, None, None)
    );
    assert_eq!(jobs.image_count(), 0);
    assert_eq!(
        jobs.history(&submitted.id).last(),
        Some(&("storing", 1, Some("download_failed".to_string())))
    );
    // Released for 2 s (attempt 1: half of 2 s fixed, half scaled by the 0.5 jitter).
    let released_until = jobs
        .job(&submitted.id)
        .lease_expires_at
        .expect("a release time");
    assert_eq!(released_until, world.clock.now_ms() + 1500);

    assert_eq!(world.handle(&jobs), Handled::Idle, "not due yet");
    world.clock.sleep(Duration::from_millis(1500));
    let job = world.ran(&jobs);
    assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 2));
    assert_eq!(
        jobs.image_bytes(job.image_id.as_deref().expect("image")),
        image
    );
    assert_eq!(
        world.http.requests_to(SUBMIT).len(),
        1,
        "stored, not resubmitted"
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

    let job = world.ran(&jobs);
    assert_eq!(
        (job.status, job.failure_reason.as_deref(), job.progress),
        (JobStatus::Failed, Some("run_timeout"), 85)
    );
    assert_eq!(
        job.failure_message.as_deref(),
        Some("the provider reached no final state for task `42` within 2 s (last progress 85%)")
    );
    // Polls at 0, 250 ... 2000 ms: the last one at the deadline.
    assert_eq!(world.http.requests_to(FETCH).len(), 9);
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
    let job = world.ran(&jobs);
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
    let job = world.ran(&jobs);
    assert_eq!(
        (job.status, job.failure_reason.as_deref(), job.attempts),
        (JobStatus::Failed, Some("moderation"), 1)
    );
    assert_eq!(urls(&world.http.requests()), [format!("POST {SUBMIT}")]);
}

#[test]
fn rate_limits_are_waited_out_and_one_task_is_made() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox", None);
    // C08: 429 with Retry-After: 2 twice, then accepted.
    let limited = reply(429, "").with_header("Retry-After", "2");
    world.http.script(
        "POST",
        SUBMIT,
        vec![
            limited.clone(),
            limited,
            reply(200, r#"{"code":1,"result":"42"}"#),
        ],
    );
    world.reports(&[("SUCCESS", "100%", IMAGE)]);
    world.serves_image(&png_bytes(1, 1));

    let job = world.ran(&jobs);
    assert_eq!(
        (job.status, job.attempts, job.provider_task_id.as_deref()),
        (JobStatus::Succeeded, 1, Some("42"))
    );
    assert_eq!(world.http.requests_to(SUBMIT).len(), 3);
    assert_eq!(&world.clock.sleeps()[..2], [2000, 2000]);
    let states = world.submitted_states();
    let state = format!("{}:1", submitted.id);
    assert_eq!(states, [state.clone(), state.clone(), state]);
}

#[test]
fn a_busy_provider_sends_the_job_back_to_the_queue_for_a_later_attempt() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox", None);
    world.http.script(
        "POST",
        SUBMIT,
        vec![
            reply(200, r#"{"code":23,"description":"queue full"}"#),
            reply(200, r#"{"code":1,"result":"42"}"#),
        ],
    );
    world.reports(&[("SUCCESS", "100%", IMAGE)]);
    world.serves_image(&png_bytes(1, 1));

    let job = world.ran(&jobs);
    assert_eq!(
        (job.status, job.attempts, job.provider_task_id.clone()),
        (JobStatus::Queued, 1, None)
    );
    assert_eq!(job.failure_reason, None, "a retry is no failure");
    let queued = jobs.job(&submitted.id);
    assert_eq!(queued.not_before, world.clock.now_ms() + 1500);
    assert_eq!(
        *world.wakeups.published.borrow(),
        vec![(
            "redis://127.0.0.1:6379".to_string(),
            "promptmesh-jobs".to_string(),
            "next".to_string()
        )],
        "a queued job wakes a worker"
    );

    world.clock.sleep(Duration::from_millis(1500));
    let job = world.ran(&jobs);
    assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 2));
    let states = world.submitted_states();
    assert_eq!(
        states,
        [format!("{}:1", submitted.id), format!("{}:2", submitted.id)],
        "one submission per attempt"
    );
    assert_eq!(
        jobs.history(&submitted.id)[2],
        ("queued", 1, Some("provider_busy".to_string()))
    );
}

#[test]
fn a_job_left_running_by_a_dead_worker_is_resumed_without_resubmitting() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox", None);
    // A worker leased it, got task 42 and died (C05).
    jobs.lease("dead-worker", 30_000)
        .expect("lease")
        .expect("the job");
    jobs.progress(&submitted.id, "dead-worker", "42", 60)
        .expect("progress");
    world.reports(&[("SUCCESS", "100%", IMAGE)]);
    world.serves_image(&png_bytes(1, 1));

    assert_eq!(world.handle(&jobs), Handled::Idle, "the lease still holds");
    world.clock.sleep(Duration::from_secs(30));
    let job = world.ran(&jobs);
    assert_eq!((job.status, job.attempts), (JobStatus::Succeeded, 2));
    assert_eq!(world.http.requests_to(SUBMIT).len(), 0);
    assert_eq!(
        jobs.history(&submitted.id)[2],
        ("running", 2, Some("lease_expired".to_string()))
    );
}

#[test]
fn a_callback_alone_completes_the_job_when_polls_fail() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox", None);
    world.accepts();
    world
        .http
        .script("GET", FETCH, vec![reply(503, "fetch is down")]);
    world.serves_image(&png_bytes(1, 1));
    let (db, id) = (jobs.db.clone(), submitted.id.clone());
    let posted = Rc::new(RefCell::new(false));
    world.http.on_send(move |request| {
        if request.url == FETCH && !*posted.borrow() {
            // The provider's callback arrives at the gateway while the worker polls.
            let report = queue_service::model::ProviderReport {
                task_id: "42".into(),
                status: "SUCCESS".into(),
                progress: Some(100),
                image_url: Some(IMAGE.into()),
                fail_reason: None,
            };
            queue_service::provider_events::record(db.as_ref(), &id, &report, START + 1)
                .expect("recorded")
                .expect("the job's task");
            *posted.borrow_mut() = true;
        }
    });

    let job = world.ran(&jobs);
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(world.http.requests_to(FETCH).len(), 1);
}

#[test]
fn the_provider_gets_a_signed_callback_url_when_the_application_has_a_public_url() {
    let mut world = World::new();
    world.config.public_url = Some("https://pm.example.com".into());
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox", None);
    world.accepts();
    world.reports(&[("FAILURE", "0%", "")]);
    world.ran(&jobs);
    let body: Value =
        serde_json::from_slice(&world.http.requests_to(SUBMIT)[0].body).expect("JSON");
    assert_eq!(
        body["notifyHook"],
        promptmesh_guest::hook::url("https://pm.example.com", "whsec", &submitted.id)
    );
}

#[test]
fn the_lease_is_renewed_while_the_run_waits() {
    let mut world = World::new();
    world.config.run_timeout = Duration::from_secs(70);
    world.config.poll_interval = Duration::from_secs(5);
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox", None);
    world.accepts();
    world.reports(&[("IN_PROGRESS", "10%", "")]);
    // A second worker looks for work once the first lease would have ended.
    let (db, id, clock) = (jobs.db.clone(), submitted.id.clone(), world.clock);
    let taken = Rc::new(RefCell::new(Vec::new()));
    let seen = taken.clone();
    world.http.on_send(move |request| {
        if request.url == FETCH && clock.now_ms() >= START + 45_000 && seen.borrow().is_empty() {
            let config = queue_service::config::Config::default();
            let other = queue_service::lease::lease(
                db.as_ref(),
                &config,
                "worker-2",
                30_000,
                clock.now_ms(),
            )
            .expect("leasing works");
            seen.borrow_mut().push(other.map(|j| j.id));
        }
    });

    let job = world.ran(&jobs);
    assert_eq!(*taken.borrow(), [None], "worker-2 found the job still held");
    assert_eq!(
        (job.id, job.failure_reason.as_deref()),
        (id, Some("run_timeout"))
    );
}

#[test]
fn a_worker_whose_lease_passed_to_another_stops_without_touching_the_job() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox", None);
    world.accepts();
    world.reports(&[("IN_PROGRESS", "10%", ""), ("SUCCESS", "100%", IMAGE)]);
    world.serves_image(&png_bytes(1, 1));
    let (db, id) = (jobs.db.clone(), submitted.id.clone());
    world.http.on_send(move |request| {
        if request.url == FETCH {
            // The worker stalled past its lease and worker-2 took the job over.
            db.as_ref()
                .execute(
                    "UPDATE job_jobs SET lease_owner = 'worker-2' WHERE id = ?",
                    &[id.as_str().into()],
                )
                .expect("hand the lease over");
        }
    });

    let job = world.ran(&jobs);
    assert_eq!(
        (job.status, job.lease_owner.as_deref(), job.image_id),
        (JobStatus::Running, Some("worker-2"), None)
    );
    assert_eq!(jobs.image_count(), 0);
    assert_eq!(world.http.requests_to(IMAGE).len(), 0);
}

#[test]
fn a_job_canceled_while_it_runs_stays_canceled_and_its_owner_hears_each_change() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("a red fox", Some(HOOK));
    world.accepts();
    world.reports(&[("IN_PROGRESS", "10%", "")]);
    world.http.script("POST", HOOK, vec![reply(200, "")]);
    let (db, id, clock) = (jobs.db.clone(), submitted.id.clone(), world.clock);
    world.http.on_send(move |request| {
        if request.url == FETCH {
            // The client cancels once the provider has the task; the next check sees it.
            let _ = queue_service::lifecycle::cancel(db.as_ref(), &id, clock.now_ms());
        }
    });

    let job = world.ran(&jobs);
    assert_eq!(job.status, JobStatus::Canceled);
    assert_eq!(world.http.requests_to(FETCH).len(), 1);
    let types: Vec<String> = world
        .http
        .requests_to(HOOK)
        .iter()
        .map(|r| {
            let body: Value = serde_json::from_slice(&r.body).expect("JSON");
            body["type"].as_str().expect("type").to_owned()
        })
        .collect();
    assert_eq!(types, ["job.running", "job.canceled"]);
    assert_eq!(
        jobs.notifications(&submitted.id),
        [
            ("job.running".to_string(), "delivered", 1),
            ("job.canceled".to_string(), "delivered", 1),
        ]
    );
}

#[test]
fn a_notification_the_receiver_missed_is_delivered_again_with_the_same_id_and_body() {
    let world = World::new();
    let jobs = world.queue();
    let submitted = jobs.submit("Tom & Jerry \"classic\" <3", Some(HOOK));
    world.accepts();
    world.reports(&[("SUCCESS", "100%", IMAGE)]);
    world.serves_image(&png_bytes(1, 1));
    // C14: running and storing go through; the first delivery of succeeded times out.
    world.http.script_results(
        "POST",
        HOOK,
        vec![
            Ok(reply(200, "")),
            Ok(reply(200, "")),
            Err(TransportError("timed out waiting for the answer".into())),
            Ok(reply(200, "")),
        ],
    );

    let job = world.ran(&jobs);
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(
        jobs.notifications(&submitted.id)[2],
        ("job.succeeded".to_string(), "pending", 1)
    );
    // The next wake-up after the backoff (1 s, half jittered) delivers it again.
    world.clock.sleep(Duration::from_millis(750));
    assert_eq!(world.handle(&jobs), Handled::Idle);
    assert_eq!(
        jobs.notifications(&submitted.id)[2],
        ("job.succeeded".to_string(), "delivered", 2)
    );

    let hooks = world.http.requests_to(HOOK);
    let (missed, again) = (&hooks[2], &hooks[3]);
    assert_eq!(missed.body, again.body);
    assert_eq!(
        missed.header(webhook::EVENT_ID_HEADER),
        again.header(webhook::EVENT_ID_HEADER)
    );
    for delivery in [missed, again] {
        let body = String::from_utf8(delivery.body.clone()).expect("UTF-8");
        let timestamp: u64 = delivery
            .header(webhook::TIMESTAMP_HEADER)
            .expect("timestamp")
            .parse()
            .expect("seconds");
        assert_eq!(
            delivery.header(webhook::SIGNATURE_HEADER),
            Some(webhook::signature("whsec", timestamp, &body).as_str())
        );
    }
    let body: Value = serde_json::from_slice(&again.body).expect("JSON");
    assert_eq!(
        (body["type"].as_str(), body["job"]["prompt"].as_str()),
        (Some("job.succeeded"), Some("Tom & Jerry \"classic\" <3"))
    );
}

#[test]
fn the_next_worker_is_woken_while_jobs_wait() {
    let world = World::new();
    let jobs = world.queue();
    jobs.submit("first", None);
    jobs.submit("second", None);
    world.accepts();
    world.reports(&[("FAILURE", "0%", "")]);
    world.ran(&jobs);
    assert_eq!(
        *world.wakeups.published.borrow(),
        vec![(
            "redis://127.0.0.1:6379".to_string(),
            "promptmesh-jobs".to_string(),
            "next".to_string()
        )]
    );
    world.ran(&jobs);
    assert_eq!(
        world.wakeups.published.borrow().len(),
        1,
        "nothing waits any more"
    );
    assert_eq!(world.handle(&jobs), Handled::Idle);
}

#[test]
fn retry_delays_double_per_attempt_and_honour_what_the_provider_asked() {
    let world = World::new();
    let jobs = world.queue();
    let worker = Worker {
        config: &world.config,
        http: &world.http,
        jobs: &jobs,
        clock: world.clock,
        wakeups: &world.wakeups,
        name: "w",
    };
    let ms = |attempt, asked: Option<u64>| {
        worker
            .retry_delay(attempt, asked.map(Duration::from_millis))
            .as_millis()
    };
    // 2 s base, half jittered at 0.5: 1.5 s, 3 s, 6 s.
    assert_eq!((ms(1, None), ms(2, None), ms(3, None)), (1500, 3000, 6000));
    assert_eq!(ms(1, Some(7000)), 7000);
    assert_eq!(ms(30, None), 450_000);
    assert_eq!(ms(1, Some(3_600_000)), 600_000);
}
