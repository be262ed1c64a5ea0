//! What the gateway checks of two kinds of repeated or foreign requests: the
//! `Idempotency-Key` of a generation (and the hash of the request it came with), and the
//! task reports a provider posts to a job's callback URL.

use serde_json::Value;
use sha2::{Digest, Sha256};

use promptmesh_guest::hook;

use crate::body;
use crate::error::ApiError;
use crate::model::ProviderReport;

/// The header that makes `POST /api/generate` idempotent.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// The header on a 202 that answers a repeated request with the job it made before.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Longest idempotency key, in bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// The idempotency key of a request, from every value of its header: one value of 1 to 255
/// visible ASCII characters.
pub fn idempotency_key(values: &[String]) -> Result<Option<String>, ApiError> {
    let key = match values {
        [] => return Ok(None),
        [key] => key.trim(),
        _ => {
            let message = format!(
                "the request has {} Idempotency-Key headers; send one",
                values.len()
            );
            return Err(
                ApiError::new(400, "invalid_idempotency_key", message).on("Idempotency-Key")
            );
        }
    };
    if key.is_empty() || key.len() > MAX_KEY_BYTES || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::new(
            400,
            "invalid_idempotency_key",
            format!(
                "the Idempotency-Key header must be 1 to {MAX_KEY_BYTES} visible ASCII \
                 characters, such as a UUID"
            ),
        )
        .on("Idempotency-Key"));
    }
    Ok(Some(key.to_string()))
}

/// Hex SHA-256 of the request body as JSON with its keys sorted, so that the same request
/// with its fields in another order or other white space hashes the same.
pub fn request_hash(body: &[u8]) -> String {
    let canonical = match serde_json::from_slice::<Value>(body) {
        Ok(value) => value.to_string().into_bytes(),
        Err(_) => body.to_vec(),
    };
    hex::encode(Sha256::digest(canonical))
}

/// The 409 of a key used before with another request.
pub fn key_reused(message: String) -> ApiError {
    ApiError::new(409, "idempotency_key_reused", message).on("Idempotency-Key")
}

/// A task report in the midjourney-proxy callback body: the task's `id`, `status`,
/// `progress` ("85%"), `imageUrl` and `failReason`; other fields are ignored.
pub fn provider_report(body: &[u8]) -> Result<ProviderReport, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::not_json(&e.to_string()))?;
    let Value::Object(task) = value else {
        return Err(ApiError::wrong_type(
            None,
            "a JSON object",
            body::kind(&value),
        ));
    };
    let task_id = match task.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(ApiError::missing_field("id", "the provider's task id")),
    };
    let status = match task.get("status") {
        Some(Value::String(status)) if !status.is_empty() => status.clone(),
        _ => {
            return Err(ApiError::missing_field(
                "status",
                "the task's status, e.g. SUCCESS",
            ));
        }
    };
    let text = |name: &str| {
        task.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(ProviderReport {
        task_id,
        status,
        progress: text("progress").as_deref().and_then(hook::percent),
        image_url: text("imageUrl"),
        fail_reason: text("failReason"),
    })
}

/// 401 for a callback whose token is not the job's.
pub fn bad_token(job_id: &str) -> ApiError {
    ApiError::new(
        401,
        "invalid_hook_token",
        format!(
            "the callback's token is not job {job_id}'s; use the notifyHook URL the worker gave \
             the provider, unchanged"
        ),
    )
    .on("token")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255_bytes() {
        let one = |key: &str| idempotency_key(&[key.to_string()]);
        assert_eq!(idempotency_key(&[]).expect("none"), None);
        assert_eq!(
            one(" order-7 ").expect("trimmed"),
            Some("order-7".to_string())
        );
        assert_eq!(
            one(&"k".repeat(255)).expect("255 bytes").map(|k| k.len()),
            Some(255)
        );
        for bad in ["", "two words", "é", &"k".repeat(256)] {
            let error = one(bad).expect_err("refused");
            assert_eq!(
                (error.status, error.code.as_str(), error.field.as_deref()),
                (400, "invalid_idempotency_key", Some("Idempotency-Key")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn two_keys_on_one_request_are_refused() {
        let error = idempotency_key(&["a".to_string(), "b".to_string()]).expect_err("two keys");
        assert_eq!(
            (error.status, error.code.as_str(), error.message.as_str()),
            (
                400,
                "invalid_idempotency_key",
                "the request has 2 Idempotency-Key headers; send one"
            )
        );
    }

    #[test]
    fn the_request_hash_ignores_field_order_and_white_space() {
        let a = request_hash(br#"{"template_id":"tpl_1","variables":{"a":"1","b":"2"}}"#);
        let b = request_hash(
            b"{ \"variables\": {\"b\":\"2\", \"a\":\"1\"},\n \"template_id\": \"tpl_1\" }",
        );
        let c = request_hash(br#"{"template_id":"tpl_1","variables":{"a":"1","b":"3"}}"#);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn a_provider_callback_is_read_by_task_id_status_and_image() {
        let body = br#"{"id":"1700000000000123456","action":"IMAGINE","status":"SUCCESS",
            "progress":"100%","imageUrl":"https://cdn.example.com/1.png","failReason":"",
            "prompt":"<https://s.mj.run/x> a cat","state":"job_1:1"}"#;
        assert_eq!(
            provider_report(body).expect("a report"),
            ProviderReport {
                task_id: "1700000000000123456".into(),
                status: "SUCCESS".into(),
                progress: Some(100),
                image_url: Some("https://cdn.example.com/1.png".into()),
                fail_reason: None,
            }
        );
        let numeric = provider_report(br#"{"id":42,"status":"IN_PROGRESS","progress":"85%"}"#)
            .expect("a report");
        assert_eq!(
            (numeric.task_id.as_str(), numeric.progress),
            ("42", Some(85))
        );
    }

    #[test]
    fn a_callback_without_task_or_status_is_refused_naming_the_field() {
        let no_id = provider_report(br#"{"status":"SUCCESS"}"#).expect_err("no id");
        assert_eq!((no_id.status, no_id.field.as_deref()), (422, Some("id")));
        let no_status = provider_report(br#"{"id":"1"}"#).expect_err("no status");
        assert_eq!(no_status.field.as_deref(), Some("status"));
        let not_json = provider_report(b"<html>").expect_err("not JSON");
        assert_eq!(
            (not_json.status, not_json.code.as_str()),
            (400, "malformed_json")
        );
    }
}
