//! Fakes for the unit tests: a scripted HTTP client, a clock that only moves when the code
//! sleeps, a recorder of wake-ups, and the real queue-service logic on an in-memory
//! database behind [`Jobs`].

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use promptmesh_guest::db::{Db, NativeDb};
use queue_service::config::Config as QueueConfig;
use queue_service::error::Error as QError;
use queue_service::images::{self, NewImage};
use queue_service::model::{self as q, NewJob, Tier};
use queue_service::{jobs, lease, lifecycle, outbox, schema};

use crate::ports::{
    Clock, HttpClient, HttpRequest, HttpResponse, Job, JobStatus, Jobs, Method, Notification,
    QueueError, TransportError, Wakeups,
};

/// A response with `status` and a text body.
pub fn reply(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: Vec::new(),
        body: body.as_bytes().to_vec(),
    }
}

impl HttpResponse {
    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> HttpResponse {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

type Script = Vec<Result<HttpResponse, TransportError>>;

/// An HTTP client that answers from scripts per `METHOD url`: each request takes the next
/// answer, and the last one repeats. An unscripted URL is refused like a closed port.
#[derive(Default)]
pub struct FakeHttp {
    scripts: RefCell<HashMap<String, (Script, usize)>>,
    sent: RefCell<Vec<HttpRequest>>,
    /// Called with each request before it is answered.
    on_send: RefCell<Option<Box<dyn Fn(&HttpRequest)>>>,
}

impl FakeHttp {
    pub fn new() -> FakeHttp {
        FakeHttp::default()
    }

    /// Scripts the answers of `method url`.
    pub fn script(&self, method: &str, url: &str, replies: Vec<HttpResponse>) {
        self.script_results(method, url, replies.into_iter().map(Ok).collect());
    }

    /// Scripts answers that may be transport errors.
    pub fn script_results(&self, method: &str, url: &str, results: Script) {
        assert!(!results.is_empty(), "a script needs at least one answer");
        self.scripts
            .borrow_mut()
            .insert(format!("{method} {url}"), (results, 0));
    }

    /// Runs `hook` on every request as it is sent.
    pub fn on_send(&self, hook: impl Fn(&HttpRequest) + 'static) {
        *self.on_send.borrow_mut() = Some(Box::new(hook));
    }

    /// Every request sent, in order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.sent.borrow().clone()
    }

    /// The requests sent to `url`.
    pub fn requests_to(&self, url: &str) -> Vec<HttpRequest> {
        self.sent
            .borrow()
            .iter()
            .filter(|r| r.url == url)
            .cloned()
            .collect()
    }
}

impl HttpClient for FakeHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.borrow_mut().push(request.clone());
        if let Some(hook) = self.on_send.borrow().as_ref() {
            hook(request);
        }
        let method = match request.method {
            Method::Get => "GET",
            Method::Post => "POST",
        };
        let key = format!("{method} {}", request.url);
        let mut scripts = self.scripts.borrow_mut();
        let Some((script, next)) = scripts.get_mut(&key) else {
            return Err(TransportError(format!(
                "connection refused: no script for {key}"
            )));
        };
        let answer = script[(*next).min(script.len() - 1)].clone();
        *next += 1;
        answer
    }
}

/// A clock that starts at `now` and moves only by the code's own sleeps; jitter is 0.5.
pub struct FakeClock {
    now: Cell<u64>,
    sleeps: RefCell<Vec<u64>>,
}

impl FakeClock {
    pub fn new(now: u64) -> FakeClock {
        FakeClock {
            now: Cell::new(now),
            sleeps: RefCell::new(Vec::new()),
        }
    }

    /// Every sleep so far, in milliseconds.
    pub fn sleeps(&self) -> Vec<u64> {
        self.sleeps.borrow().clone()
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }

    fn sleep(&self, duration: Duration) {
        let ms = u64::try_from(duration.as_millis()).expect("test sleeps fit in u64");
        self.sleeps.borrow_mut().push(ms);
        self.now.set(self.now.get() + ms);
    }

    fn jitter(&self) -> f64 {
        0.5
    }
}

/// Records published wake-ups as `(address, channel, payload)`.
#[derive(Default)]
pub struct FakeWakeups {
    pub published: RefCell<Vec<(String, String, String)>>,
    /// When set, publishing fails with this message.
    pub failure: Option<String>,
}

impl Wakeups for FakeWakeups {
    fn publish(&self, address: &str, channel: &str, payload: &[u8]) -> Result<(), String> {
        if let Some(message) = &self.failure {
            return Err(message.clone());
        }
        let payload = String::from_utf8_lossy(payload).into_owned();
        self.published
            .borrow_mut()
            .push((address.to_owned(), channel.to_owned(), payload));
        Ok(())
    }
}

/// The queue-service's own logic on an in-memory database, timed by a [`FakeClock`].
pub struct QueueJobs<'a> {
    /// Shared, so that a [`FakeHttp::on_send`] hook can change jobs mid-run.
    pub db: Rc<NativeDb>,
    pub clock: &'a FakeClock,
    pub config: QueueConfig,
}

impl<'a> QueueJobs<'a> {
    pub fn new(clock: &'a FakeClock) -> QueueJobs<'a> {
        let db = NativeDb::memory();
        schema::migrate(&db).expect("the queue's schema applies to an empty database");
        QueueJobs {
            db: Rc::new(db),
            clock,
            config: QueueConfig::default(),
        }
    }

    /// Submits a free job for `prompt`, with an optional callback.
    pub fn submit(&self, prompt: &str, callback_url: Option<&str>) -> Job {
        let new = NewJob {
            owner: "key_1".into(),
            tier: Tier::Free,
            prompt: prompt.into(),
            template_id: Some("tpl_1".into()),
            template_version: Some(2),
            variables: Vec::new(),
            callback_url: callback_url.map(str::to_owned),
            idempotency_key: None,
            request_hash: None,
        };
        let job = jobs::submit(self.db.as_ref(), &self.config, new, self.clock.now_ms())
            .expect("the test queue has room");
        port_job(job.job)
    }

    /// The job as the queue holds it.
    pub fn job(&self, id: &str) -> q::Job {
        jobs::get(self.db.as_ref(), id).expect("the job exists")
    }

    /// The job's history as `(status, attempt, reason)`.
    pub fn history(&self, id: &str) -> Vec<(&'static str, u32, Option<String>)> {
        queue_service::history::list(self.db.as_ref(), id)
            .expect("the job exists")
            .into_iter()
            .map(|t| (t.status.as_str(), t.attempt, t.reason))
            .collect()
    }

    /// The job's notifications as `(type, state, attempts)`.
    pub fn notifications(&self, id: &str) -> Vec<(String, &'static str, u32)> {
        outbox::list(self.db.as_ref(), id)
            .expect("the job exists")
            .into_iter()
            .map(|n| {
                let body: serde_json::Value = serde_json::from_str(&n.body).expect("JSON body");
                let kind = body["type"].as_str().expect("a type").to_owned();
                (kind, n.state.as_str(), n.attempts)
            })
            .collect()
    }

    /// The stored bytes of image `id`.
    pub fn image_bytes(&self, id: &str) -> Vec<u8> {
        images::bytes(self.db.as_ref(), id).expect("the image is stored")
    }

    /// How many images are stored.
    pub fn image_count(&self) -> i64 {
        self.db
            .execute("SELECT COUNT(*) AS n FROM job_images", &[])
            .expect("count images")
            .first()
            .expect("one row")
            .get("n")
            .expect("an integer")
    }

    fn now(&self) -> u64 {
        self.clock.now_ms()
    }
}

impl Jobs for QueueJobs<'_> {
    fn lease(&self, worker: &str, lease_ms: u32) -> Result<Option<Job>, QueueError> {
        let leased = lease::lease(self.db.as_ref(), &self.config, worker, lease_ms, self.now());
        leased.map(|j| j.map(port_job)).map_err(port_error)
    }

    fn renew(&self, id: &str, worker: &str, lease_ms: u32) -> Result<Job, QueueError> {
        let job = lease::renew(self.db.as_ref(), id, worker, lease_ms, self.now());
        job.map(port_job).map_err(port_error)
    }

    fn get(&self, id: &str) -> Result<Job, QueueError> {
        jobs::get(self.db.as_ref(), id)
            .map(port_job)
            .map_err(port_error)
    }

    fn progress(
        &self,
        id: &str,
        worker: &str,
        task_id: &str,
        progress: u8,
    ) -> Result<Job, QueueError> {
        let job = lifecycle::progress(self.db.as_ref(), id, worker, task_id, progress, self.now());
        job.map(port_job).map_err(port_error)
    }

    fn storing(&self, id: &str, worker: &str, image_url: &str) -> Result<Job, QueueError> {
        let job = lifecycle::storing(self.db.as_ref(), id, worker, image_url, self.now());
        job.map(port_job).map_err(port_error)
    }

    fn succeed(&self, id: &str, worker: &str, image_id: &str) -> Result<Job, QueueError> {
        let job = lifecycle::succeed(self.db.as_ref(), id, worker, image_id, self.now());
        job.map(port_job).map_err(port_error)
    }

    fn fail(&self, id: &str, worker: &str, reason: &str, message: &str) -> Result<Job, QueueError> {
        let job = lifecycle::fail(self.db.as_ref(), id, worker, reason, message, self.now());
        job.map(port_job).map_err(port_error)
    }

    fn retry(
        &self,
        id: &str,
        worker: &str,
        reason: &str,
        message: &str,
        delay_ms: u32,
    ) -> Result<Job, QueueError> {
        let attempt = lease::Retry {
            id,
            worker,
            reason,
            message,
            delay_ms,
        };
        let job = lease::retry(self.db.as_ref(), &self.config, attempt, self.now());
        job.map(port_job).map_err(port_error)
    }

    fn queued(&self) -> Result<u32, QueueError> {
        let counts = jobs::counts(self.db.as_ref()).map_err(port_error)?;
        Ok(counts
            .iter()
            .find(|(status, _)| *status == q::JobStatus::Queued)
            .map_or(0, |(_, n)| *n))
    }

    fn store_image(
        &self,
        job_id: &str,
        content_type: &str,
        width: u32,
        height: u32,
        bytes: &[u8],
    ) -> Result<String, QueueError> {
        let new = NewImage {
            job_id,
            content_type,
            width,
            height,
            bytes,
        };
        images::store(self.db.as_ref(), new, self.now())
            .map(|image| image.id)
            .map_err(port_error)
    }

    fn claim_notifications(
        &self,
        worker: &str,
        limit: u32,
    ) -> Result<Vec<Notification>, QueueError> {
        let claimed = outbox::claim(self.db.as_ref(), worker, limit, self.now());
        let claimed = claimed.map_err(port_error)?;
        Ok(claimed
            .into_iter()
            .map(|n| Notification {
                id: n.id,
                job_id: n.job_id,
                url: n.url,
                body: n.body,
                attempts: n.attempts,
            })
            .collect())
    }

    fn notification_delivered(&self, id: &str) -> Result<(), QueueError> {
        outbox::delivered(self.db.as_ref(), id, self.now())
            .map(drop)
            .map_err(port_error)
    }

    fn notification_failed(&self, id: &str, error: &str) -> Result<(), QueueError> {
        let jitter = self.clock.jitter();
        outbox::failed(
            self.db.as_ref(),
            &self.config,
            id,
            error,
            self.now(),
            jitter,
        )
        .map(drop)
        .map_err(port_error)
    }
}

fn port_job(j: q::Job) -> Job {
    Job {
        id: j.id,
        prompt: j.prompt,
        status: port_status(j.status),
        progress: j.progress,
        attempts: j.attempts,
        callback_url: j.callback_url,
        provider_task_id: j.provider_task_id,
        image_id: j.image_id,
        failure_reason: j.failure_reason,
        failure_message: j.failure_message,
        finished_at: j.finished_at,
        lease_owner: j.lease_owner,
        run_started_at: j.run_started_at,
        provider_status: j.provider_status,
        provider_image_url: j.provider_image_url,
        provider_fail_reason: j.provider_fail_reason,
    }
}

fn port_status(status: q::JobStatus) -> JobStatus {
    match status {
        q::JobStatus::Queued => JobStatus::Queued,
        q::JobStatus::Running => JobStatus::Running,
        q::JobStatus::Storing => JobStatus::Storing,
        q::JobStatus::Succeeded => JobStatus::Succeeded,
        q::JobStatus::Failed => JobStatus::Failed,
        q::JobStatus::Canceled => JobStatus::Canceled,
    }
}

fn port_error(e: QError) -> QueueError {
    match e {
        QError::NotFound(m) => QueueError::NotFound(m),
        QError::Invalid(f) => QueueError::Invalid {
            field: f.field,
            code: f.code,
            message: f.message,
        },
        QError::Conflict(m) => QueueError::Conflict(m),
        QError::QueueFull(s) => QueueError::QueueFull(s),
        QError::Internal(m) => QueueError::Internal(m),
    }
}

/// A valid PNG of `width` x `height` pixels.
pub fn png_bytes(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().expect("PNG header");
        let pixels = vec![128u8; (width * height) as usize];
        writer.write_image_data(&pixels).expect("PNG pixels");
    }
    bytes
}
