//! The whole pipeline over the REST API: generate, the job's life, the stored image, ratings,
//! statistics per version, A/B experiments, cancellation, ownership and signed callbacks.

mod support;

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::app::{ADMIN, App, AppOptions, WEBHOOK_SECRET, error};

const FINAL: Duration = Duration::from_secs(30);

fn submit(app: &App, key: &str, body: &Value) -> String {
    let reply = app.post("/api/generate", key, body);
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job = reply.json();
    let id = job["id"].as_str().expect("job id").to_string();
    assert_eq!(
        reply.headers["location"],
        format!("/api/jobs/{id}").as_str()
    );
    assert_eq!(job["status_url"], format!("/api/jobs/{id}"));
    assert_eq!(job["status"], "queued");
    id
}

#[test]
fn a_generation_ends_with_a_stored_png_that_can_be_rated() {
    let app = App::start();
    let user = app.key("alice", "premium");
    let template = app.template("Fox", "a red fox, {{subject}} --ar 1:1");
    let body = json!({ "template_id": template, "variables": { "subject": "in snow" } });
    let id = submit(&app, &user, &body);

    let job = app.wait_final(&id, &user, FINAL);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["progress"], 100);
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["tier"], "premium");
    assert_eq!(job["prompt"], "a red fox, in snow --ar 1:1");
    assert_eq!(job["template"], json!({ "id": template, "version": 1 }));
    assert_eq!(job["failure"], json!(null));
    assert!(
        job["provider_task_id"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{job}"
    );
    let image_id = job["image"]["id"].as_str().expect("image id").to_string();
    assert_eq!(job["image"]["url"], format!("/api/images/{image_id}"));

    // The bytes are a PNG served from this system, with an ETag of their digest.
    let image = support::client()
        .get(app.host.url(&format!("/api/images/{image_id}")))
        .bearer_auth(&user)
        .send()
        .expect("image");
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    let etag = image.headers()["etag"].to_str().expect("ascii").to_string();
    let bytes = image.bytes().expect("bytes");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(etag, format!("\"{}\"", hex::encode(Sha256::digest(&bytes))));
    let again = support::client()
        .get(app.host.url(&format!("/api/images/{image_id}")))
        .bearer_auth(&user)
        .header("if-none-match", &etag)
        .send()
        .expect("conditional image");
    assert_eq!(again.status(), 304);

    let meta = app
        .get(&format!("/api/images/{image_id}/meta"), &user)
        .json();
    assert_eq!(meta["job_id"], id.as_str());
    assert_eq!(meta["size"], bytes.len());
    assert_eq!(
        (meta["width"].as_u64(), meta["height"].as_u64()),
        (Some(64), Some(64))
    );
    assert_eq!(meta["ratings"], json!({ "count": 0, "mean": null }));
    let listed = app.get(&format!("/api/images?job={id}"), &user).json();
    assert_eq!(listed["items"][0]["id"], image_id.as_str());
    let by_template = app
        .get(&format!("/api/images?template={template}"), &user)
        .json();
    assert_eq!(by_template["items"].as_array().expect("items").len(), 1);

    // A second rating by the same user replaces the first.
    let path = format!("/api/images/{image_id}/ratings");
    let first = app.post(&path, &user, &json!({ "score": 2 }));
    assert_eq!(first.status, 201, "{}", first.body);
    let second = app.post(&path, &user, &json!({ "score": 5, "feedback": "lovely" }));
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.json()["score"], 5);
    assert_eq!(second.json()["feedback"], "lovely");
    let bob = app.key("bob", "premium");
    let out_of_range = error(&app.post(&path, &user, &json!({ "score": 6 })), 422);
    assert_eq!(
        (&out_of_range["code"], &out_of_range["field"]),
        (&json!("score_out_of_range"), &json!("score"))
    );
    // Bob cannot see Alice's image, so he cannot rate it either.
    assert_eq!(
        error(&app.post(&path, &bob, &json!({ "score": 1 })), 404)["code"],
        "image_not_found"
    );

    let stats = app
        .get(&format!("/api/templates/{template}/stats"), &user)
        .json();
    assert_eq!(
        stats["versions"],
        json!([{ "version": 1, "count": 1, "mean": 5.0, "std_dev": 0.0, "ci_low": null, "ci_high": null }])
    );
}

#[test]
fn jobs_and_images_belong_to_their_key() {
    let app = App::start();
    let alice = app.key("alice", "premium");
    let bob = app.key("bob", "premium");
    let id = submit(&app, &alice, &json!({ "prompt": "a lighthouse at dusk" }));
    let job = app.wait_final(&id, &alice, FINAL);
    assert_eq!(job["template"], json!(null));
    assert_eq!(
        error(&app.get(&format!("/api/jobs/{id}"), &bob), 404)["code"],
        "job_not_found"
    );
    assert_eq!(app.get("/api/jobs", &bob).json()["items"], json!([]));
    let image = job["image"]["id"].as_str().expect("image");
    assert_eq!(
        error(&app.get(&format!("/api/images/{image}/meta"), &bob), 404)["code"],
        "image_not_found"
    );
    assert_eq!(app.get(&format!("/api/jobs/{id}"), ADMIN).status, 200);
    let listed = app.get("/api/jobs?status=succeeded", &alice).json();
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert_eq!(
        app.get("/api/jobs?status=queued", &alice).json()["items"],
        json!([])
    );
    let bad = error(&app.get("/api/jobs?status=done", &alice), 400);
    assert_eq!(
        (&bad["code"], &bad["field"]),
        (&json!("invalid_query"), &json!("query.status"))
    );
}

#[test]
fn queued_jobs_can_be_canceled_and_final_ones_cannot() {
    // A slow provider keeps the second job queued behind the first while it is canceled.
    let app = App::start_with(AppOptions {
        variables: vec![("sandbox_latency_ms", "1500".into())],
        ..AppOptions::default()
    });
    let first = submit(&app, ADMIN, &json!({ "prompt": "a slow first job" }));
    let done = app.wait_final(&first, ADMIN, FINAL);
    assert_eq!(done["status"], "succeeded");
    let conflict = error(
        &app.post(&format!("/api/jobs/{first}/cancel"), ADMIN, &json!({})),
        409,
    );
    assert_eq!(conflict["code"], "conflict");

    let second = submit(&app, ADMIN, &json!({ "prompt": "a job to cancel" }));
    let canceled = app.post(&format!("/api/jobs/{second}/cancel"), ADMIN, &json!({}));
    assert_eq!(canceled.status, 200, "{}", canceled.body);
    assert_eq!(canceled.json()["status"], "canceled");
    let job = app.wait_final(&second, ADMIN, FINAL);
    assert_eq!(job["status"], "canceled");
    assert_eq!(job["image"], json!(null));
}

#[test]
fn experiments_split_users_stickily_and_compare_the_arms() {
    let app = App::start();
    let template = app.template("AB", "first take on {{subject}}");
    app.put(
        &format!("/api/templates/{template}"),
        ADMIN,
        &json!({ "body": "second take on {{subject}}" }),
    );
    let path = format!("/api/experiments/{template}");
    let arms = json!({ "arms": [{ "version": 1, "weight": 1 }, { "version": 2, "weight": 1 }] });
    let user = app.key("u", "premium");
    assert_eq!(
        error(&app.put(&path, &user, &arms), 403)["code"],
        "forbidden"
    );
    let unknown = json!({ "arms": [{ "version": 1, "weight": 1 }, { "version": 7, "weight": 1 }] });
    assert_eq!(
        error(&app.put(&path, ADMIN, &unknown), 422)["code"],
        "unknown_version"
    );
    let created = app.put(&path, ADMIN, &arms);
    assert_eq!(created.status, 200, "{}", created.body);

    // Each user gets one arm and keeps it. Key ids are random, so with even weights all
    // users land on one arm with probability 2 / 2^20: the test does not flake in practice.
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..20 {
        let key = app.key(&format!("ab-{i}"), "premium");
        let request = json!({ "template_id": template, "variables": { "subject": "a cat" } });
        let versions: Vec<Value> = (0..3)
            .map(|_| app.post("/api/prompts", &key, &request).json()["template"]["version"].clone())
            .collect();
        assert_eq!(versions[0], versions[1]);
        assert_eq!(versions[1], versions[2]);
        seen.insert(versions[0].as_u64().expect("version"));
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [1, 2],
        "20 users all landed on one arm"
    );

    let results = app.get(&path, &user).json();
    assert_eq!(results["template_id"], template.as_str());
    let assigned: u64 = results["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .map(|a| a["assigned"].as_u64().expect("assigned"))
        .sum();
    assert_eq!(assigned, 20);
    assert_eq!(results["comparisons"][0]["version"], 2);
    assert_eq!(results["comparisons"][0]["control_version"], 1);
    assert_eq!(app.delete(&path, ADMIN).status, 204);
    assert_eq!(
        error(&app.get(&path, ADMIN), 404)["code"],
        "experiment_not_found"
    );
}

#[test]
fn the_callback_gets_a_signed_notification_with_a_stable_event_id() {
    let app = App::start();
    let (port, received) = support::capture_server(200);
    let callback = format!("http://127.0.0.1:{port}/hooks/images");
    let id = submit(
        &app,
        ADMIN,
        &json!({ "prompt": "a signed delivery", "callback_url": callback }),
    );
    let job = app.wait_final(&id, ADMIN, FINAL);
    assert_eq!(job["callback_url"], callback.as_str());

    // Each state change after the 202, in order: running, storing, succeeded.
    let deliveries: Vec<support::Captured> = (0..3)
        .map(|_| {
            received
                .recv_timeout(Duration::from_secs(10))
                .expect("the callback is called for each change")
        })
        .collect();
    let types: Vec<String> = deliveries
        .iter()
        .map(|d| {
            let body: Value = serde_json::from_str(&d.body).expect("JSON body");
            body["type"].as_str().expect("a type").to_string()
        })
        .collect();
    assert_eq!(types, ["job.running", "job.storing", "job.succeeded"]);
    let delivery = &deliveries[2];
    assert_eq!(
        (delivery.method.as_str(), delivery.path.as_str()),
        ("POST", "/hooks/images")
    );
    let body: Value = serde_json::from_str(&delivery.body).expect("JSON body");
    assert_eq!(body["job"]["id"], id.as_str());
    assert_eq!(body["job"]["status"], "succeeded");
    // The fourth change of the job (queued, running, storing, succeeded).
    assert_eq!(body["sequence"], 4);
    let digest = hex::encode(Sha256::digest(format!("{id}:4")));
    let event_id = format!("evt_{}", &digest[..24]);
    assert_eq!(body["id"], event_id.as_str());
    assert_eq!(
        delivery.header("x-promptmesh-event-id"),
        Some(event_id.as_str())
    );
    let recorded = support::eventually(Duration::from_secs(5), || {
        let shown = app.get(&format!("/api/jobs/{id}"), ADMIN).json();
        let last = shown["notifications"][2].clone();
        (last["state"] == "delivered").then_some(last)
    })
    .expect("the delivery is recorded on the job");
    assert_eq!(
        (
            &recorded["event_id"],
            &recorded["type"],
            &recorded["attempts"]
        ),
        (&json!(event_id), &json!("job.succeeded"), &json!(1))
    );

    let timestamp = delivery
        .header("x-promptmesh-timestamp")
        .expect("timestamp");
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("key");
    mac.update(format!("{timestamp}.{}", delivery.body).as_bytes());
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        delivery.header("x-promptmesh-signature"),
        Some(expected.as_str())
    );
}

#[test]
fn invalid_generation_requests_store_nothing() {
    let app = App::start();
    let neither = error(
        &app.post("/api/generate", ADMIN, &json!({ "variables": {} })),
        422,
    );
    assert_eq!(neither["code"], "missing_field");
    let bad_callback = error(
        &app.post(
            "/api/generate",
            ADMIN,
            &json!({ "prompt": "a cat", "callback_url": "ftp://x" }),
        ),
        422,
    );
    assert_eq!(bad_callback["field"], "callback_url");
    let missing = error(
        &app.post(
            "/api/generate",
            ADMIN,
            &json!({ "template_id": "tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V", "variables": {} }),
        ),
        404,
    );
    assert_eq!(missing["code"], "template_not_found");
    assert_eq!(app.get("/api/jobs", ADMIN).json()["items"], json!([]));
}
