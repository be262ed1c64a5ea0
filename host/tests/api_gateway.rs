//! The REST edge of the application: health, the OpenAPI document, API keys, authentication,
//! rate limits per tier and the error format.

mod support;

use serde_json::json;
use support::app::{ADMIN, App, AppOptions, error};

#[test]
fn health_and_readiness_need_no_key() {
    let app = App::start();
    let health = app.call("GET", "/healthz", None, None);
    assert_eq!(
        (health.status, health.json()),
        (200, json!({ "status": "ok" }))
    );
    let ready = app.call("GET", "/readyz", None, None);
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(
        ready.json(),
        json!({ "status": "ready", "checks": { "database": "ok", "queue": "ok" } })
    );
}

#[test]
fn openapi_document_describes_the_api() {
    let app = App::start();
    let reply = app.call("GET", "/api/openapi.json", None, None);
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/api/templates",
        "/api/templates/{id}",
        "/api/templates/{id}/versions",
        "/api/templates/{id}/labels/{label}",
        "/api/templates/{id}/stats",
        "/api/prompts",
        "/api/generate",
        "/api/jobs",
        "/api/jobs/{id}",
        "/api/jobs/{id}/cancel",
        "/api/images",
        "/api/images/{id}",
        "/api/images/{id}/meta",
        "/api/images/{id}/ratings",
        "/api/experiments/{template_id}",
        "/api/keys",
        "/healthz",
        "/readyz",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "the document lacks {path}"
        );
    }
}

#[test]
fn requests_without_a_valid_key_are_refused() {
    let app = App::start();
    let none = error(&app.call("GET", "/api/templates", None, None), 401);
    assert_eq!(none["code"], "unauthenticated");
    let wrong = error(
        &app.get("/api/templates", "pm_00000000000000000000000000000000"),
        401,
    );
    assert_eq!(wrong["code"], "invalid_api_key");
}

#[test]
fn only_admins_create_keys_and_a_new_key_works_at_once() {
    let app = App::start();
    let created = app.post(
        "/api/keys",
        ADMIN,
        &json!({ "name": "alice", "tier": "premium" }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    assert_eq!(
        (&body["name"], &body["tier"]),
        (&json!("alice"), &json!("premium"))
    );
    let key = body["key"].as_str().expect("key").to_string();
    assert!(key.starts_with("pm_") && key.len() == 35, "{key}");
    assert!(body["id"].as_str().is_some_and(|id| id.starts_with("key_")));

    assert_eq!(app.get("/api/templates", &key).status, 200);
    let denied = error(
        &app.post(
            "/api/keys",
            &key,
            &json!({ "name": "bob", "tier": "admin" }),
        ),
        403,
    );
    assert_eq!(denied["code"], "forbidden");
    let bad_tier = error(
        &app.post("/api/keys", ADMIN, &json!({ "name": "c", "tier": "gold" })),
        422,
    );
    assert_eq!(bad_tier["field"], "tier");
}

#[test]
fn free_keys_get_ten_requests_a_minute_with_headers() {
    let app = App::start();
    let key = app.key("free-user", "free");
    for expected_remaining in (0..10).rev() {
        let reply = app.get("/api/templates", &key);
        assert_eq!(reply.status, 200, "{}", reply.body);
        let header = |name: &str| reply.headers[name].to_str().expect("ascii").to_string();
        assert_eq!(header("x-ratelimit-limit"), "10");
        assert_eq!(
            header("x-ratelimit-remaining"),
            expected_remaining.to_string()
        );
        let reset: u64 = header("x-ratelimit-reset").parse().expect("seconds");
        assert!((1..=60).contains(&reset), "reset {reset}");
    }
    let limited = app.get("/api/templates", &key);
    let body = error(&limited, 429);
    assert_eq!(body["code"], "rate_limited");
    let retry: u64 = limited.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("s");
    assert!((1..=60).contains(&retry), "retry-after {retry}");
    assert_eq!(limited.headers["x-ratelimit-remaining"], "0");

    // Another key has its own budget; the admin key is not limited by default.
    let other = app.key("other-user", "free");
    assert_eq!(app.get("/api/templates", &other).status, 200);
    assert!(
        app.get("/api/templates", ADMIN)
            .headers
            .get("x-ratelimit-limit")
            .is_none()
    );
}

#[test]
fn premium_limit_is_configurable() {
    let app = App::start_with(AppOptions {
        variables: vec![("premium_requests_per_minute", "3".into())],
        ..AppOptions::default()
    });
    let key = app.key("p", "premium");
    let statuses: Vec<u16> = (0..4)
        .map(|_| app.get("/api/templates", &key).status)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429]);
}

#[test]
fn malformed_requests_get_clear_errors() {
    let app = App::start();
    let raw = |method: &str, path: &str, content_type: &str, body: &str| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        app.host.send(
            support::client()
                .request(method, app.host.url(path))
                .bearer_auth(ADMIN)
                .header("content-type", content_type)
                .body(body.to_string()),
        )
    };
    let not_json = error(
        &raw("POST", "/api/templates", "application/json", "{nope"),
        400,
    );
    assert_eq!(not_json["code"], "malformed_json");
    let unknown = error(
        &raw(
            "POST",
            "/api/templates",
            "application/json",
            r#"{"name":"a","body":"b","colour":1}"#,
        ),
        400,
    );
    assert_eq!(
        (&unknown["code"], &unknown["field"]),
        (&json!("unknown_field"), &json!("colour"))
    );
    let wrong_type = error(
        &raw(
            "POST",
            "/api/templates",
            "application/json",
            r#"{"name":5,"body":"b"}"#,
        ),
        400,
    );
    assert_eq!(
        (&wrong_type["code"], &wrong_type["field"]),
        (&json!("malformed_json"), &json!("name"))
    );
    let missing = error(
        &raw(
            "POST",
            "/api/templates",
            "application/json",
            r#"{"name":"a"}"#,
        ),
        422,
    );
    assert_eq!(
        (&missing["code"], &missing["field"]),
        (&json!("missing_field"), &json!("body"))
    );
    let media = error(&raw("POST", "/api/templates", "text/plain", "name=a"), 415);
    assert_eq!(media["code"], "unsupported_media_type");
    let big = "x".repeat(70_000);
    let too_large = error(
        &raw("POST", "/api/templates", "application/json", &big),
        413,
    );
    assert_eq!(too_large["code"], "payload_too_large");

    let route = error(&app.get("/api/nothing-here", ADMIN), 404);
    assert_eq!(route["code"], "not_found");
    let method = app.call("PATCH", "/api/templates", Some(ADMIN), None);
    assert_eq!(error(&method, 405)["code"], "method_not_allowed");
    assert!(method.headers.get("allow").is_some());
    let query = error(&app.get("/api/templates?limit=0", ADMIN), 400);
    assert_eq!(
        (&query["code"], &query["field"]),
        (&json!("invalid_query"), &json!("query.limit"))
    );
}
