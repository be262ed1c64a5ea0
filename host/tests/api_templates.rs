//! Templates over the REST API: versions, labels, search, and the field cases C10 and C11.

mod support;

use serde_json::json;
use support::app::{ADMIN, App, error};

#[test]
fn versions_are_immutable_and_labels_move_on_purpose() {
    let app = App::start();
    let created = app.post(
        "/api/templates",
        ADMIN,
        &json!({
            "name": "Portrait",
            "description": "film look",
            "tags": ["Photo", "portrait"],
            "body": "portrait of {{subject}} --ar 2:3",
        }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    let id = body["template"]["id"].as_str().expect("id").to_string();
    assert_eq!(
        created.headers["location"],
        format!("/api/templates/{id}").as_str()
    );
    assert_eq!(body["template"]["tags"], json!(["photo", "portrait"]));
    assert_eq!(body["template"]["latest_version"], 1);
    assert_eq!(body["template"]["labels"], json!({ "latest": 1 }));
    assert_eq!(body["version"]["version"], 1);
    assert_eq!(body["version"]["variables"], json!(["subject"]));

    let updated = app.put(
        &format!("/api/templates/{id}"),
        ADMIN,
        &json!({ "body": "portrait of {{subject}} in {{style}} --ar 2:3" }),
    );
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.json()["version"]["version"], 2);
    assert_eq!(
        updated.json()["version"]["variables"],
        json!(["subject", "style"])
    );

    let label = app.put(
        &format!("/api/templates/{id}/labels/production"),
        ADMIN,
        &json!({ "version": 1 }),
    );
    assert_eq!(label.status, 200, "{}", label.body);
    assert_eq!(
        label.json()["labels"],
        json!({ "latest": 2, "production": 1 })
    );

    let versions = app
        .get(&format!("/api/templates/{id}/versions"), ADMIN)
        .json();
    let numbers: Vec<u64> = versions["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|v| v["version"].as_u64().expect("number"))
        .collect();
    assert_eq!(numbers, [1, 2]);
    let v1 = app
        .get(&format!("/api/templates/{id}/versions/1"), ADMIN)
        .json();
    assert_eq!(v1["body"], "portrait of {{subject}} --ar 2:3");

    let fetched = app.get(&format!("/api/templates/{id}"), ADMIN).json();
    assert_eq!(fetched["latest"]["version"], 2);
    assert_eq!(fetched["description"], "film look");

    let reserved = error(
        &app.put(
            &format!("/api/templates/{id}/labels/latest"),
            ADMIN,
            &json!({ "version": 1 }),
        ),
        422,
    );
    assert_eq!(reserved["code"], "label_reserved");
    let unknown = error(
        &app.put(
            &format!("/api/templates/{id}/labels/beta"),
            ADMIN,
            &json!({ "version": 9 }),
        ),
        422,
    );
    assert_eq!(
        (&unknown["code"], &unknown["field"]),
        (&json!("unknown_version"), &json!("version"))
    );

    assert_eq!(
        app.delete(&format!("/api/templates/{id}/labels/production"), ADMIN)
            .status,
        204
    );
    let gone = error(
        &app.delete(&format!("/api/templates/{id}/labels/production"), ADMIN),
        404,
    );
    assert_eq!(gone["code"], "label_not_found");
    assert_eq!(
        app.delete(&format!("/api/templates/{id}"), ADMIN).status,
        204
    );
    let missing = error(&app.get(&format!("/api/templates/{id}"), ADMIN), 404);
    assert_eq!(missing["code"], "template_not_found");
}

#[test]
fn bad_templates_are_refused_naming_the_field() {
    let app = App::start();
    let broken = error(
        &app.post(
            "/api/templates",
            ADMIN,
            &json!({ "name": "x", "body": "a {{subject" }),
        ),
        422,
    );
    assert_eq!(
        (&broken["code"], &broken["field"]),
        (&json!("invalid_template"), &json!("body"))
    );
    let tag = error(
        &app.post(
            "/api/templates",
            ADMIN,
            &json!({ "name": "x", "body": "a", "tags": ["ok", "not ok!"] }),
        ),
        422,
    );
    assert_eq!(
        (&tag["code"], &tag["field"]),
        (&json!("invalid_tag"), &json!("tags[1]"))
    );
    app.template("Twin", "a {{subject}}");
    let twin = error(
        &app.post(
            "/api/templates",
            ADMIN,
            &json!({ "name": "twin", "body": "b" }),
        ),
        409,
    );
    assert_eq!(twin["code"], "conflict");
}

#[test]
fn search_filters_by_text_and_tag_and_pages_with_a_cursor() {
    let app = App::start();
    for (name, tag) in [
        ("Red fox", "animal"),
        ("Blue whale", "animal"),
        ("Red car", "vehicle"),
    ] {
        let reply = app.post(
            "/api/templates",
            ADMIN,
            &json!({ "name": name, "body": format!("{name} {{{{subject}}}}"), "tags": [tag] }),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let names = |path: &str| -> Vec<String> {
        let page = app.get(path, ADMIN).json();
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|t| t["name"].as_str().expect("name").to_string())
            .collect()
    };
    assert_eq!(names("/api/templates?q=red"), ["Red fox", "Red car"]);
    assert_eq!(
        names("/api/templates?tag=animal"),
        ["Red fox", "Blue whale"]
    );
    assert_eq!(names("/api/templates?q=RED&tag=vehicle"), ["Red car"]);

    let first = app.get("/api/templates?limit=2", ADMIN).json();
    assert_eq!(first["items"].as_array().expect("items").len(), 2);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let second = app
        .get(&format!("/api/templates?limit=2&cursor={cursor}"), ADMIN)
        .json();
    assert_eq!(second["items"][0]["name"], "Red car");
    assert_eq!(second["next_cursor"], json!(null));
}

/// C10: moving `production` to version 2 is seen by the very next prompt.
#[test]
fn a_moved_label_is_used_at_once() {
    let app = App::start();
    let id = app.template("Label move", "version one of {{subject}}");
    app.put(
        &format!("/api/templates/{id}"),
        ADMIN,
        &json!({ "body": "version two of {{subject}}" }),
    );
    let path = format!("/api/templates/{id}/labels/production");
    assert_eq!(app.put(&path, ADMIN, &json!({ "version": 1 })).status, 200);
    assert_eq!(app.put(&path, ADMIN, &json!({ "version": 2 })).status, 200);
    let request =
        json!({ "template_id": id, "label": "production", "variables": { "subject": "a cat" } });
    let preview = app.post("/api/prompts", ADMIN, &request);
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.json()["prompt"], "version two of a cat");
    assert_eq!(
        preview.json()["template"],
        json!({ "id": id, "version": 2 })
    );
    let generated = app.post("/api/generate", ADMIN, &request);
    assert_eq!(generated.status, 202, "{}", generated.body);
    assert_eq!(
        generated.json()["template"],
        json!({ "id": id, "version": 2 })
    );
}

/// C11: 20 concurrent new versions get unique, contiguous numbers, or a 409; never a 500.
#[test]
fn concurrent_versions_are_unique_and_contiguous() {
    let app = App::start();
    let id = app.template("Contended", "v1 {{subject}}");
    let results: Vec<(u16, Option<u64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let app = &app;
                let id = &id;
                scope.spawn(move || {
                    let reply = app.put(
                        &format!("/api/templates/{id}"),
                        ADMIN,
                        &json!({ "body": format!("writer {i} {{{{subject}}}}") }),
                    );
                    let version = (reply.status == 200)
                        .then(|| reply.json()["version"]["version"].as_u64())
                        .flatten();
                    (reply.status, version)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("writer thread"))
            .collect()
    });
    assert!(
        results.iter().all(|(s, _)| *s == 200 || *s == 409),
        "{results:?}"
    );
    let mut versions: Vec<u64> = results.iter().filter_map(|(_, v)| *v).collect();
    versions.sort_unstable();
    let expected: Vec<u64> = (2..2 + versions.len() as u64).collect();
    assert_eq!(versions, expected);
    let listed = app
        .get(&format!("/api/templates/{id}/versions"), ADMIN)
        .json();
    assert_eq!(
        listed["items"].as_array().expect("items").len(),
        versions.len() + 1
    );
}
