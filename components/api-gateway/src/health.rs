//! Liveness and readiness answers: `/healthz` says the gateway runs, `/readyz` whether its
//! database and the queue service answer.

use serde_json::{Map, Value, json};

use crate::response::ApiResponse;

/// `GET /healthz`.
pub fn liveness() -> ApiResponse {
    ApiResponse::ok(json!({ "status": "ok" }))
}

/// `GET /readyz` from the outcome of each check (`Err` carries why it failed): 200 when all
/// pass, else 503 `unavailable` naming the first failing check, with every check's state.
pub fn readiness(checks: &[(&str, Result<(), String>)]) -> ApiResponse {
    let states: Map<String, Value> = checks
        .iter()
        .map(|(name, outcome)| {
            let state = match outcome {
                Ok(()) => "ok".to_string(),
                Err(why) => why.clone(),
            };
            (name.to_string(), json!(state))
        })
        .collect();
    let failed = checks
        .iter()
        .find_map(|(name, outcome)| outcome.as_ref().err().map(|why| (name, why)));
    match failed {
        None => ApiResponse::ok(json!({ "status": "ready", "checks": states })),
        Some((name, why)) => ApiResponse::json(
            503,
            json!({
                "status": "unavailable",
                "checks": states,
                "error": {
                    "code": "unavailable",
                    "message": format!("check `{name}` failed: {why}"),
                    "field": null,
                },
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::Body;

    #[test]
    fn liveness_is_always_ok() {
        assert_eq!(liveness().body, Body::Json(json!({ "status": "ok" })));
    }

    #[test]
    fn ready_when_every_check_passes() {
        let response = readiness(&[("database", Ok(())), ("queue", Ok(()))]);
        assert_eq!(response.status, 200);
        assert_eq!(
            response.body,
            Body::Json(json!({ "status": "ready", "checks": { "database": "ok", "queue": "ok" } }))
        );
    }

    #[test]
    fn a_failing_check_is_503_with_its_message() {
        let response = readiness(&[
            ("database", Ok(())),
            ("queue", Err("queue service failed: disk full".into())),
        ]);
        assert_eq!(response.status, 503);
        assert_eq!(
            response.body,
            Body::Json(json!({
                "status": "unavailable",
                "checks": { "database": "ok", "queue": "queue service failed: disk full" },
                "error": {
                    "code": "unavailable",
                    "message": "check `queue` failed: queue service failed: disk full",
                    "field": null,
                },
            }))
        );
    }
}
