//! The Spin glue: the Redis-trigger handler, the queue-service imports, outbound HTTP through
//! `wasi:http` with timeouts, Spin variables, Redis publish, the clock and randomness behind
//! the traits of [`crate::ports`].

use std::time::Duration;

use promptmesh_guest::time::now_ms;
use spin_sdk::redis_component;

use crate::config::Config;
use crate::ports::{
    Clock, HttpClient, HttpRequest, HttpResponse, Job, JobStatus, Jobs, Method, Notification,
    QueueError, TransportError, Wakeups,
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

/// One wake-up: the payload only says that the queue may hold work (`next` from a
/// publisher, `tick` from the host's timer).
#[redis_component]
fn on_message(_message: Vec<u8>) -> Result<(), String> {
    let config = Config::load(&variable).map_err(|e| format!("generation-worker: {e}"))?;
    let name = worker_name();
    let worker = Worker {
        config: &config,
        http: &WasiHttp,
        jobs: &LinkedQueue,
        clock: &SystemClock,
        wakeups: &SpinRedis,
        name: &name,
    };
    match worker.handle() {
        Ok(Handled::Idle) => Ok(()),
        Ok(Handled::Ran(job)) => {
            let reason = job.failure_reason.as_deref().unwrap_or("-");
            eprintln!(
                "generation-worker: attempt ended job.id={} status={} reason={reason} attempts={}",
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

/// Outbound HTTP over `wasi:http/outgoing-handler`, with the request's timeout as the
/// connect and first-byte timeouts (spin-sdk's `send` passes no options).
struct WasiHttp;

impl HttpClient for WasiHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let failed =
            |e: String| TransportError(format!("{} {}: {e}", method_name(request), request.url));
        wasi_http::send(request).map_err(failed)
    }
}

fn method_name(request: &HttpRequest) -> &'static str {
    match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    }
}

/// The blocking WASI 0.2 HTTP client behind [`WasiHttp`].
mod wasi_http {
    use wasi::http::outgoing_handler;
    use wasi::http::types::{
        Fields, IncomingBody, Method as WasiMethod, OutgoingBody, OutgoingRequest, RequestOptions,
        Scheme,
    };
    use wasi::io::streams::StreamError;

    use crate::ports::{HttpRequest, HttpResponse, Method};

    /// Bytes written to the body stream at a time (the most one blocking write takes).
    const WRITE_CHUNK: usize = 4096;
    /// Bytes read from the answer at a time.
    const READ_CHUNK: u64 = 64 * 1024;

    pub fn send(request: &HttpRequest) -> Result<HttpResponse, String> {
        let outgoing = outgoing(request)?;
        let body = outgoing.body().map_err(|()| "the request body was taken")?;
        let options = options(request)?;
        let future = outgoing_handler::handle(outgoing, Some(options))
            .map_err(|e| format!("refused: {e}"))?;
        write_body(body, &request.body)?;

        future.subscribe().block();
        let response = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(e))) => return Err(e.to_string()),
            Some(Err(())) => return Err("the answer was already taken".into()),
            None => return Err("no answer after waiting for it".into()),
        };
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .filter_map(|(name, value)| Some((name, String::from_utf8(value).ok()?)))
            .collect();
        let incoming = response
            .consume()
            .map_err(|()| "the answer body was taken")?;
        let body = read_body(incoming)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    fn outgoing(request: &HttpRequest) -> Result<OutgoingRequest, String> {
        let (scheme, rest) = match request.url.split_once("://") {
            Some(("http", rest)) => (Scheme::Http, rest),
            Some(("https", rest)) => (Scheme::Https, rest),
            _ => return Err("only http:// and https:// URLs are sent".into()),
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        let mut entries: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect();
        if !request.body.is_empty() {
            // A declared length rather than a chunked body: some receivers refuse chunked
            // posts.
            entries.push((
                "content-length".into(),
                request.body.len().to_string().into(),
            ));
        }
        let headers = Fields::from_list(&entries).map_err(|e| format!("bad header: {e:?}"))?;
        let outgoing = OutgoingRequest::new(headers);
        let method = match request.method {
            Method::Get => WasiMethod::Get,
            Method::Post => WasiMethod::Post,
        };
        let set = [
            outgoing.set_method(&method),
            outgoing.set_scheme(Some(&scheme)),
            outgoing.set_authority(Some(authority)),
            outgoing.set_path_with_query(Some(&path)),
        ];
        if set.iter().any(Result::is_err) {
            return Err("the URL's host or path is not valid".into());
        }
        Ok(outgoing)
    }

    fn options(request: &HttpRequest) -> Result<RequestOptions, String> {
        let options = RequestOptions::new();
        let nanos = u64::try_from(request.timeout.as_nanos()).unwrap_or(u64::MAX);
        let set = [
            options.set_connect_timeout(Some(nanos)),
            options.set_first_byte_timeout(Some(nanos)),
            options.set_between_bytes_timeout(Some(nanos)),
        ];
        if set.iter().any(Result::is_err) {
            return Err("the runtime refused the request timeouts".into());
        }
        Ok(options)
    }

    fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), String> {
        {
            let stream = body.write().map_err(|()| "the body stream was taken")?;
            for chunk in bytes.chunks(WRITE_CHUNK) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| format!("writing the body failed: {e:?}"))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(|e| format!("finishing the body failed: {e}"))
    }

    fn read_body(incoming: IncomingBody) -> Result<Vec<u8>, String> {
        let mut bytes = Vec::new();
        {
            let stream = incoming
                .stream()
                .map_err(|()| "the answer stream was taken")?;
            loop {
                match stream.blocking_read(READ_CHUNK) {
                    Ok(chunk) => bytes.extend_from_slice(&chunk),
                    Err(StreamError::Closed) => break,
                    Err(StreamError::LastOperationFailed(e)) => {
                        return Err(format!(
                            "reading the answer failed: {}",
                            e.to_debug_string()
                        ));
                    }
                }
            }
        }
        drop(IncomingBody::finish(incoming));
        Ok(bytes)
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
    fn lease(&self, worker: &str, lease_ms: u32) -> Result<Option<Job>, QueueError> {
        Ok(queue::lease(worker, lease_ms)?.map(port_job))
    }

    fn renew(&self, id: &str, worker: &str, lease_ms: u32) -> Result<Job, QueueError> {
        Ok(port_job(queue::renew(id, worker, lease_ms)?))
    }

    fn get(&self, id: &str) -> Result<Job, QueueError> {
        Ok(port_job(queue::get(id)?))
    }

    fn progress(
        &self,
        id: &str,
        worker: &str,
        task_id: &str,
        progress: u8,
    ) -> Result<Job, QueueError> {
        Ok(port_job(queue::progress(id, worker, task_id, progress)?))
    }

    fn storing(&self, id: &str, worker: &str, image_url: &str) -> Result<Job, QueueError> {
        Ok(port_job(queue::storing(id, worker, image_url)?))
    }

    fn succeed(&self, id: &str, worker: &str, image_id: &str) -> Result<Job, QueueError> {
        Ok(port_job(queue::succeed(id, worker, image_id)?))
    }

    fn fail(&self, id: &str, worker: &str, reason: &str, message: &str) -> Result<Job, QueueError> {
        Ok(port_job(queue::fail(id, worker, reason, message)?))
    }

    fn retry(
        &self,
        id: &str,
        worker: &str,
        reason: &str,
        message: &str,
        delay_ms: u32,
    ) -> Result<Job, QueueError> {
        Ok(port_job(queue::retry(
            id, worker, reason, message, delay_ms,
        )?))
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

    fn claim_notifications(
        &self,
        worker: &str,
        limit: u32,
    ) -> Result<Vec<Notification>, QueueError> {
        let claimed = queue::claim_notifications(worker, limit)?;
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
        queue::notification_delivered(id)?;
        Ok(())
    }

    fn notification_failed(&self, id: &str, error: &str) -> Result<(), QueueError> {
        queue::notification_failed(id, error)?;
        Ok(())
    }
}

fn port_job(j: wit::Job) -> Job {
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
