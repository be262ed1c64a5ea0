//! Prompts over the REST API: strict rendering, Midjourney validation, and the field cases
//! C02, C03, C07, C12, C13 and C15, each followed to the stored job and the provider.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::app::{ADMIN, App, AppOptions, error};

const FINAL: Duration = Duration::from_secs(30);

/// Generates from `template_id` with `subject` and waits for the job to finish.
fn generate(app: &App, template_id: &str, subject: &str) -> Value {
    let reply = app.post(
        "/api/generate",
        ADMIN,
        &json!({ "template_id": template_id, "variables": { "subject": subject } }),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.json()["id"].as_str().expect("job id").to_string();
    app.wait_final(&id, ADMIN, FINAL)
}

/// The prompt the provider rendered into the image (its PNG `Description` text).
fn prompt_seen_by_provider(app: &App, job: &Value) -> String {
    let url = job["image"]["url"].as_str().expect("an image url");
    let bytes = support::client()
        .get(app.host.url(url))
        .bearer_auth(ADMIN)
        .send()
        .expect("image")
        .bytes()
        .expect("image bytes");
    support::png_text(&bytes, "Description").expect("the PNG carries the prompt")
}

fn jobs_stored(app: &App) -> usize {
    app.get("/api/jobs", ADMIN).json()["items"]
        .as_array()
        .expect("items")
        .len()
}

/// C02: at the limit the prompt is accepted and tracked to the end; one character over, it
/// is refused and nothing is stored.
#[test]
fn prompt_length_is_counted_in_characters_up_to_the_limit() {
    let app = App::start_with(AppOptions {
        variables: vec![("max_prompt_length", "30".into())],
        ..AppOptions::default()
    });
    let id = app.template("Plain", "{{subject}}");
    let at_limit = "猫".repeat(30);
    let job = generate(&app, &id, &at_limit);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["prompt"], at_limit.as_str());

    let over = app.post(
        "/api/generate",
        ADMIN,
        &json!({ "template_id": id, "variables": { "subject": "猫".repeat(31) } }),
    );
    let err = error(&over, 422);
    assert_eq!(
        (&err["code"], &err["field"]),
        (&json!("prompt_too_long"), &json!("prompt"))
    );
    assert_eq!(jobs_stored(&app), 1);
}

/// C03: an em dash and a double space are normalised; the stored prompt is what the provider
/// gets.
#[test]
fn em_dash_parameters_are_normalised_and_sent_as_stored() {
    let app = App::start();
    let id = app.template("Dash", "a {{subject}}  —ar 16:9");
    let preview = app.post(
        "/api/prompts",
        ADMIN,
        &json!({ "template_id": id, "variables": { "subject": "cat" } }),
    );
    assert_eq!(preview.status, 200, "{}", preview.body);
    let body = preview.json();
    assert_eq!(body["prompt"], "a cat --ar 16:9");
    assert_eq!(
        body["parameters"],
        json!([{ "name": "ar", "value": "16:9", "position": 6 }])
    );
    let job = generate(&app, &id, "cat");
    assert_eq!(job["prompt"], "a cat --ar 16:9");
    assert_eq!(prompt_seen_by_provider(&app, &job), "a cat --ar 16:9");
}

/// C07: whole words only, any case, white space collapsed; the matched word is named.
#[test]
fn banned_words_match_whole_words_only() {
    let app = App::start_with(AppOptions {
        variables: vec![("banned_words", "ass,bra,nude,no clothes".into())],
        ..AppOptions::default()
    });
    let preview = |prompt: &str| app.post("/api/prompts", ADMIN, &json!({ "prompt": prompt }));
    for fine in [
        "green grass, classic glass",
        "zebra and cobra in Brazil",
        "apple",
    ] {
        let reply = preview(fine);
        assert_eq!(reply.status, 200, "{fine}: {}", reply.body);
        assert_eq!(reply.json()["prompt"], fine);
    }
    for (refused, word) in [
        ("Nude figure", "nude"),
        ("NUDE", "nude"),
        ("no  clothes", "no clothes"),
    ] {
        let err = error(&preview(refused), 422);
        assert_eq!(err["code"], "banned_word", "{refused}");
        let message = err["message"].as_str().expect("message");
        assert!(
            message.contains(&format!("`{word}`")) || message.contains(word),
            "{refused}: {message}"
        );
    }
}

/// C12: a missing variable is named, and nothing half-rendered comes back.
#[test]
fn a_missing_variable_is_named_and_nothing_is_rendered() {
    let app = App::start();
    let id = app.template("Styled", "a {{subject}} in {{style}} style");
    let request = json!({ "template_id": id, "variables": { "subject": "cat" } });
    let reply = app.post("/api/generate", ADMIN, &request);
    let err = error(&reply, 422);
    assert_eq!(
        (&err["code"], &err["field"]),
        (&json!("missing_variable"), &json!("variables.style"))
    );
    assert!(!reply.body.contains("a cat in {{"), "{}", reply.body);
    let unknown = error(
        &app.post(
            "/api/prompts",
            ADMIN,
            &json!({ "template_id": id, "variables": { "subject": "cat", "style": "noir", "mood": "x" } }),
        ),
        422,
    );
    assert_eq!(
        (&unknown["code"], &unknown["field"]),
        (&json!("unknown_variable"), &json!("variables.mood"))
    );
    assert_eq!(jobs_stored(&app), 0);
}

/// C13: characters that HTML would escape stay literal everywhere.
#[test]
fn values_are_inserted_literally() {
    let app = App::start();
    let id = app.template("Cartoon", "{{subject}} cartoon");
    let job = generate(&app, &id, "Tom & Jerry \"classic\" <3");
    let expected = "Tom & Jerry \"classic\" <3 cartoon";
    assert_eq!(job["prompt"], expected);
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(prompt_seen_by_provider(&app, &job), expected);
}

/// C15: CJK and emoji are stored and sent as valid UTF-8 and counted as characters.
#[test]
fn unicode_subjects_survive_every_hop() {
    let app = App::start();
    let id = app.template("Tokyo", "{{subject}}");
    let subject = "猫猫 🐱 in 東京";
    let preview = app.post(
        "/api/prompts",
        ADMIN,
        &json!({ "template_id": id, "variables": { "subject": subject } }),
    );
    assert_eq!(preview.json()["length"], 10);
    let job = generate(&app, &id, subject);
    assert_eq!(job["prompt"], subject);
    assert_eq!(job["variables"], json!({ "subject": subject }));
    assert_eq!(prompt_seen_by_provider(&app, &job), subject);
}

#[test]
fn every_problem_of_a_prompt_is_reported() {
    let app = App::start();
    let reply = app.post(
        "/api/prompts",
        ADMIN,
        &json!({ "prompt": "a cat --chaos 101 --stylize 5000 --zoom 2" }),
    );
    let body = reply.json();
    assert_eq!(reply.status, 422, "{body}");
    let codes: Vec<&str> = body["error"]["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| i["code"].as_str().expect("code"))
        .collect();
    assert_eq!(
        codes,
        [
            "invalid_parameter_value",
            "invalid_parameter_value",
            "unknown_parameter"
        ]
    );
    assert_eq!(body["error"]["code"], "invalid_parameter_value");
}
