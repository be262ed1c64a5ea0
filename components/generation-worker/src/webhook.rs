//! Signed delivery of the notifications the queue keeps in its outbox.
//!
//! The queue fixes each event's id and body when the state change happens, so every
//! delivery of one change carries the same id and bytes and a receiver can drop duplicates
//! (C14). A delivery is one signed `POST`: the signature is HMAC-SHA256 under the webhook
//! secret over `<timestamp>.<body>`, sent as `v1=<hex>` with the Unix timestamp in seconds in
//! its own header; a receiver checks both and refuses old timestamps. A failed delivery is
//! reported to the queue, which schedules the next one with backoff and gives up after its
//! bound, so retries survive a crash of the worker or the host.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ports::{Clock, HttpClient, HttpRequest, Notification};
use crate::retry::describe;

/// The event id header.
pub const EVENT_ID_HEADER: &str = "x-promptmesh-event-id";
/// The header with the signing time, Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-promptmesh-timestamp";
/// The header with `v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "x-promptmesh-signature";
/// Who sends the notifications.
pub const USER_AGENT: &str = concat!("prompt-mesh-webhooks/", env!("CARGO_PKG_VERSION"));
/// How long a receiver may take to answer before the delivery counts as failed.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// `v1=<hex>`: HMAC-SHA256 under `secret` over `<timestamp>.<body>`.
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The signed request of one delivery of `notification`, signed now.
pub fn request(clock: &dyn Clock, secret: &str, notification: &Notification) -> HttpRequest {
    let timestamp = clock.now_ms() / 1000;
    let body = &notification.body;
    HttpRequest::post_json(&notification.url, body.clone())
        .with_header("user-agent", USER_AGENT)
        .with_header(EVENT_ID_HEADER, notification.id.clone())
        .with_header(TIMESTAMP_HEADER, timestamp.to_string())
        .with_header(SIGNATURE_HEADER, signature(secret, timestamp, body))
        .with_timeout(DELIVERY_TIMEOUT)
}

/// Posts `notification` once; `Err` says why the receiver did not take it.
pub fn deliver(
    http: &dyn HttpClient,
    clock: &dyn Clock,
    secret: &str,
    notification: &Notification,
) -> Result<(), String> {
    match http.send(&request(clock, secret, notification)) {
        Ok(response) if response.is_success() => Ok(()),
        Ok(response) => Err(describe(&response)),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeClock, FakeHttp, reply};

    const URL: &str = "http://hooks.example.com/jobs";

    fn notification() -> Notification {
        Notification {
            id: "evt_0123456789abcdef01234567".into(),
            job_id: "job_1".into(),
            url: URL.into(),
            body: r#"{"id":"evt_0123456789abcdef01234567","job":{"prompt":"猫猫 🐱"}}"#.into(),
            attempts: 0,
        }
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
    fn a_delivery_posts_the_stored_body_with_its_event_id_signed_now() {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(1_796_333_433_999));
        http.script("POST", URL, vec![reply(204, "")]);
        assert_eq!(deliver(&http, &clock, "whsec", &notification()), Ok(()));
        let sent = &http.requests()[0];
        let body = String::from_utf8(sent.body.clone()).expect("UTF-8");
        assert_eq!(body, notification().body);
        assert_eq!(
            (
                sent.header(EVENT_ID_HEADER),
                sent.header(TIMESTAMP_HEADER),
                sent.header("content-type"),
                sent.timeout
            ),
            (
                Some("evt_0123456789abcdef01234567"),
                Some("1796333433"),
                Some("application/json"),
                DELIVERY_TIMEOUT
            )
        );
        assert_eq!(
            sent.header(SIGNATURE_HEADER),
            Some(signature("whsec", 1_796_333_433, &body).as_str())
        );
    }

    #[test]
    fn a_refusal_or_no_answer_is_reported_once_without_retrying_here() {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(0));
        http.script("POST", URL, vec![reply(503, "busy")]);
        assert_eq!(
            deliver(&http, &clock, "whsec", &notification()),
            Err("HTTP 503: busy".into())
        );
        let unreachable = Notification {
            url: "http://nobody.example.com/".into(),
            ..notification()
        };
        assert_eq!(
            deliver(&http, &clock, "whsec", &unreachable),
            Err("connection refused: no script for POST http://nobody.example.com/".into())
        );
        assert_eq!(http.requests().len(), 2);
        assert_eq!(clock.sleeps(), Vec::<u64>::new());
    }
}
