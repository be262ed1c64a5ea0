//! The Spin glue: the Redis-trigger handler, the queue-service imports, outbound HTTP through
//! `wasi:http`, Spin variables, Redis publish, the clock and randomness behind the traits
//! of [`crate::ports`].

use std::time::Duration;

use promptmesh_guest::time::now_ms;
use spin_sdk::http::{Method as SpinMethod, Request, Response};
use spin_sdk::redis_component;

use crate::config::Config;
use crate::ports::{
    Clock, HttpClient, HttpRequest, HttpResponse, Job, JobStatus, Jobs, Method, QueueError,
    TransportError, Wakeups,
};
use crate::worker::{Handled, Worker};

/// The bindings of the services this component imports.
mod bindings {
    wit_bindgen::generate!({
        world: "generation-worker",
        path: "../../wit/services",
        generate_all,
    });
}

use bindings::promptmesh::jobs::types as wit;
use bindings::promptmesh::jobs::{images, queue};

/// One wake-up: the payload only says that the queue may hold work.
#[redis_component]
fn on_message(_message: Vec<u8>) -> Result<(), String> {
    let config = Config::load(&variable).map_err(|e| format!("generation-worker: {e}"))?;
    let name = worker_name();
    let worker = Worker {
        config: &config,
        http: &SpinHttp,
        jobs: &LinkedQueue,
        clock: &SystemClock,
        wakeups: &SpinRedis,
        name: &name,
    };
    match worker.handle() {
        Ok(Handled::Idle) => Ok(()),
        Ok(Handled::Finished { job, .. }) => {
            let reason = job.failure_reason.as_deref().unwrap_or("-");
            eprintln!(
                "generation-worker: job finished job.id={} status={} reason={reason} attempts={}",
                job.id,
                job.status.as_str(),
                job.attempts
            );
            Ok(())
        }
        Err(e) => Err(format!("generation-worker: {e}")),
    }
}

/// A Spin variable; `Ok(None)` when the application does not define it.
fn variable(name: &str) -> Result<Option<String>, String> {
    match spin_sdk::variables::get(name) {
        Ok(value) => Ok(Some(value)),
        Err(spin_sdk::variables::Error::Undefined(_)) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// `generation-worker-<8 hex digits>`, fresh per message, on the job's lease.
fn worker_name() -> String {
    let suffix = getrandom::u64().unwrap_or_else(|_| now_ms());
    format!("generation-worker-{:08x}", suffix as u32)
}

struct SpinHttp;

impl HttpClient for SpinHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = match request.method {
            Method::Get => SpinMethod::Get,
            Method::Post => SpinMethod::Post,
        };
        let mut builder = Request::builder();
        builder.method(method).uri(&request.url);
        for (name, value) in &request.headers {
            builder.header(name, value);
        }
        // A declared length rather than a chunked body: some receivers refuse chunked posts.
        if !request.body.is_empty() && request.header("content-length").is_none() {
            builder.header("content-length", request.body.len().to_string());
        }
        let outgoing = builder.body(request.body.clone()).build();
        let response: Response =
            spin_sdk::http::run(spin_sdk::http::send(outgoing)).map_err(|e| {
                TransportError(format!("{} {}: {e}", method_name(request), request.url))
            })?;
        Ok(HttpResponse {
            status: *response.status(),
            headers: response
                .headers()
                .filter_map(|(name, value)| Some((name.to_owned(), value.as_str()?.to_owned())))
                .collect(),
            body: response.into_body(),
        })
    }
}

fn method_name(request: &HttpRequest) -> &'static str {
    match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    }
}

struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        now_ms()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn jitter(&self) -> f64 {
        // 53 random bits as a fraction of 2^53, in [0, 1); no randomness means no jitter.
        getrandom::u64().map_or(0.5, |bits| (bits >> 11) as f64 / (1u64 << 53) as f64)
    }
}

struct SpinRedis;

impl Wakeups for SpinRedis {
    fn publish(&self, address: &str, channel: &str, payload: &[u8]) -> Result<(), String> {
        spin_sdk::redis::Connection::open(address)
            .and_then(|conn| conn.publish(channel, payload))
            .map_err(|e| format!("{e:?}"))
    }
}

/// The queue-service, linked by the runtime.
struct LinkedQueue;

impl Jobs for LinkedQueue {
    fn lease(&self, worker: &str) -> Result<Option<Job>, QueueError> {
        Ok(queue::lease(worker)?.map(port_job))
    }

    fn get(&self, id: &str) -> Result<Job, QueueError> {
        Ok(port_job(queue::get(id)?))
    }

    fn progress(&self, id: &str, task_id: &str, progress: u8) -> Result<Job, QueueError> {
        Ok(port_job(queue::progress(id, task_id, progress)?))
    }

    fn storing(&self, id: &str) -> Result<Job, QueueError> {
        Ok(port_job(queue::storing(id)?))
    }

    fn succeed(&self, id: &str, image_id: &str) -> Result<Job, QueueError> {
        Ok(port_job(queue::succeed(id, image_id)?))
    }

    fn fail(&self, id: &str, reason: &str, message: &str) -> Result<Job, QueueError> {
        Ok(port_job(queue::fail(id, reason, message)?))
    }

    fn queued(&self) -> Result<u32, QueueError> {
        let counts = queue::counts()?;
        Ok(counts
            .iter()
            .find(|(status, _)| *status == wit::JobStatus::Queued)
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
        Ok(images::store(job_id, content_type, width, height, bytes)?.id)
    }
}

fn port_job(j: wit::Job) -> Job {
    Job {
        id: j.id,
        prompt: j.prompt,
        status: port_status(j.status),
        progress: j.progress,
        attempts: j.attempts,
        template_id: j.template_id,
        template_version: j.template_version,
        callback_url: j.callback_url,
        provider_task_id: j.provider_task_id,
        image_id: j.image_id,
        failure_reason: j.failure_reason,
        failure_message: j.failure_message,
        created_at: j.created_at,
        updated_at: j.updated_at,
        finished_at: j.finished_at,
    }
}

fn port_status(status: wit::JobStatus) -> JobStatus {
    match status {
        wit::JobStatus::Queued => JobStatus::Queued,
        wit::JobStatus::Running => JobStatus::Running,
        wit::JobStatus::Storing => JobStatus::Storing,
        wit::JobStatus::Succeeded => JobStatus::Succeeded,
        wit::JobStatus::Failed => JobStatus::Failed,
        wit::JobStatus::Canceled => JobStatus::Canceled,
    }
}

impl From<wit::Error> for QueueError {
    fn from(e: wit::Error) -> Self {
        match e {
            wit::Error::NotFound(m) => QueueError::NotFound(m),
            wit::Error::Invalid(f) => QueueError::Invalid {
                field: f.field,
                code: f.code,
                message: f.message,
            },
            wit::Error::Conflict(m) => QueueError::Conflict(m),
            wit::Error::QueueFull(s) => QueueError::QueueFull(s),
            wit::Error::Internal(m) => QueueError::Internal(m),
        }
    }
}
