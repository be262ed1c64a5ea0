//! Signed notifications to a job's callback URL.
//!
//! Each event has an id derived from the job and its state (`evt_` and 24 hex digits of
//! SHA-256 over `<job id>:<status>`), so every delivery of one state change carries the same
//! id and body and a receiver can drop duplicates (C14). The signature is HMAC-SHA256 under the
//! webhook secret over `<timestamp>.<body>`, sent as `v1=<hex>` with the Unix timestamp in
//! seconds in its own header; a receiver checks both and refuses old timestamps.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::ports::{Clock, HttpClient, HttpRequest, Job};
use crate::retry::{self, Backoff, RetryOn, describe};

/// The event id header.
pub const EVENT_ID_HEADER: &str = "x-promptmesh-event-id";
/// The header with the signing time, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-promptmesh-timestamp";
/// The header with `v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "x-promptmesh-signature";
/// Who sends the notifications.
pub const USER_AGENT: &str = concat!("prompt-mesh-webhooks/", env!("CARGO_PKG_VERSION"));

/// The stable id of the event "job `job_id` reached `status`".
pub fn event_id(job_id: &str, status: &str) -> String {
    let digest = hex::encode(Sha256::digest(format!("{job_id}:{status}")));
    format!("evt_{}", &digest[..24])
}

/// `v1=<hex>`: HMAC-SHA256 under `secret` over `<timestamp>.<body>`.
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The event's JSON body: the same bytes for every delivery of one state change.
pub fn body(job: &Job) -> String {
    let status = job.status.as_str();
    let template = job
        .template_id
        .as_ref()
        .map(|id| json!({ "id": id, "version": job.template_version }));
    let failure = job.failure_reason.as_ref().map(|reason| {
        json!({ "reason": reason, "message": job.failure_message.clone().unwrap_or_default() })
    });
    let image = job
        .image_id
        .as_ref()
        .map(|id| json!({ "id": id, "url": format!("/api/images/{id}") }));
    let event = json!({
        "id": event_id(&job.id, status),
        "type": format!("job.{status}"),
        "created_at": rfc3339(job.finished_at.unwrap_or(job.updated_at)),
        "job": {
            "id": job.id,
            "status": status,
            "progress": job.progress,
            "prompt": job.prompt,
            "template": template,
            "attempts": job.attempts,
            "failure": failure,
            "image": image,
            "provider_task_id": job.provider_task_id,
            "status_url": format!("/api/jobs/{}", job.id),
            "created_at": rfc3339(job.created_at),
            "finished_at": job.finished_at.map(rfc3339),
        },
    });
    event.to_string()
}

fn rfc3339(ms: u64) -> Value {
    Value::String(promptmesh_guest::time::rfc3339(ms))
}

/// How a notification went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub attempts: u32,
    /// `None` when it was delivered (a 2xx answer), else why the last attempt failed.
    pub failure: Option<String>,
}

/// Posts the event of `job`'s current state to `url`, retrying failures with `backoff`;
/// each attempt is signed at its own time.
pub fn deliver(
    http: &dyn HttpClient,
    clock: &dyn Clock,
    backoff: Backoff,
    secret: &str,
    url: &str,
    job: &Job,
) -> Delivery {
    let body = body(job);
    let event_id = event_id(&job.id, job.status.as_str());
    let request = |_attempt: u32| {
        let timestamp = clock.now_ms() / 1000;
        HttpRequest::post_json(url, body.clone())
            .with_header("user-agent", USER_AGENT)
            .with_header(EVENT_ID_HEADER, event_id.clone())
            .with_header(TIMESTAMP_HEADER, timestamp.to_string())
            .with_header(SIGNATURE_HEADER, signature(secret, timestamp, &body))
    };
    let attempted = retry::send(http, clock, backoff, RetryOn::AnyFailure, &request);
    let failure = match attempted.result {
        Ok(response) if response.is_success() => None,
        Ok(response) => Some(describe(&response)),
        Err(error) => Some(error.to_string()),
    };
    Delivery {
        event_id,
        attempts: attempted.attempts,
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::JobStatus;
    use crate::retry::DEFAULT_BACKOFF;
    use crate::testing::{FakeClock, FakeHttp, reply};

    const URL: &str = "http://hooks.example.com/jobs";

    fn job() -> Job {
        Job {
            id: "job_1".into(),
            prompt: "Tom & Jerry \"classic\" <3 猫猫 🐱".into(),
            status: JobStatus::Succeeded,
            progress: 100,
            attempts: 1,
            template_id: Some("tpl_1".into()),
            template_version: Some(2),
            callback_url: Some(URL.into()),
            provider_task_id: Some("42".into()),
            image_id: Some("img_1".into()),
            failure_reason: None,
            failure_message: None,
            created_at: 1_796_333_433_123,
            updated_at: 1_796_333_440_000,
            finished_at: Some(1_796_333_440_000),
        }
    }

    #[test]
    fn event_ids_depend_on_the_job_and_state_only() {
        let digest = hex::encode(Sha256::digest("job_1:succeeded"));
        assert_eq!(
            event_id("job_1", "succeeded"),
            format!("evt_{}", &digest[..24])
        );
        assert_ne!(event_id("job_1", "failed"), event_id("job_1", "succeeded"));
        assert_eq!(event_id("job_1", "succeeded").len(), 28);
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_and_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mac = signature("Jefe", 0, "what do ya want for nothing?");
        let mut reference = Hmac::<Sha256>::new_from_slice(b"Jefe").expect("key");
        reference.update(b"0.what do ya want for nothing?");
        assert_eq!(
            mac,
            format!("v1={}", hex::encode(reference.finalize().into_bytes()))
        );
        let mut rfc = Hmac::<Sha256>::new_from_slice(b"Jefe").expect("key");
        rfc.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(rfc.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_body_carries_the_job_literally_as_utf8() {
        let body: Value = serde_json::from_str(&body(&job())).expect("JSON");
        assert_eq!(
            body,
            json!({
                "id": event_id("job_1", "succeeded"),
                "type": "job.succeeded",
                "created_at": "2026-12-03T21:30:40.000Z",
                "job": {
                    "id": "job_1",
                    "status": "succeeded",
                    "progress": 100,
                    "prompt": "Tom & Jerry \"classic\" <3 猫猫 🐱",
                    "template": { "id": "tpl_1", "version": 2 },
                    "attempts": 1,
                    "failure": null,
                    "image": { "id": "img_1", "url": "/api/images/img_1" },
                    "provider_task_id": "42",
                    "status_url": "/api/jobs/job_1",
                    "created_at": "2026-12-03T21:30:33.123Z",
                    "finished_at": "2026-12-03T21:30:40.000Z",
                }
            })
        );
    }

    #[test]
    fn a_failed_delivery_is_retried_with_the_same_id_and_body_and_a_fresh_signature() {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(10_000));
        http.script(
            "POST",
            URL,
            vec![reply(500, ""), reply(504, ""), reply(204, "")],
        );
        let delivery = deliver(&http, &clock, DEFAULT_BACKOFF, "whsec", URL, &job());
        assert_eq!(
            delivery,
            Delivery {
                event_id: event_id("job_1", "succeeded"),
                attempts: 3,
                failure: None
            }
        );
        let sent = http.requests();
        assert_eq!(sent.len(), 3);
        assert_eq!(clock.sleeps(), vec![150, 300]);
        for request in &sent {
            let body = String::from_utf8(request.body.clone()).expect("UTF-8");
            assert_eq!(body, super::body(&job()));
            assert_eq!(
                request.header(EVENT_ID_HEADER),
                Some(delivery.event_id.as_str())
            );
            let timestamp: u64 = request
                .header(TIMESTAMP_HEADER)
                .expect("timestamp")
                .parse()
                .expect("seconds");
            assert_eq!(
                request.header(SIGNATURE_HEADER),
                Some(signature("whsec", timestamp, &body).as_str())
            );
        }
        let stamps: Vec<&str> = sent
            .iter()
            .map(|r| r.header(TIMESTAMP_HEADER).expect("timestamp"))
            .collect();
        assert_eq!(stamps, ["10", "10", "10"]);
    }

    #[test]
    fn a_receiver_that_never_answers_is_given_up_after_four_attempts() {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(0));
        let delivery = deliver(&http, &clock, DEFAULT_BACKOFF, "whsec", URL, &job());
        assert_eq!(delivery.attempts, 4);
        assert_eq!(
            delivery.failure.as_deref(),
            Some("connection refused: no script for POST http://hooks.example.com/jobs")
        );
    }
}
