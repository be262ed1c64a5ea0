//! Each endpoint's body: defaults, required fields and the values the gateway refuses.

use super::*;

fn code_and_field(error: ApiError) -> (u16, String, Option<String>) {
    (error.status, error.code, error.field)
}

fn fails(result: Result<impl std::fmt::Debug, ApiError>) -> (u16, String, Option<String>) {
    code_and_field(result.expect_err("refused"))
}

#[test]
fn keys_default_to_the_free_tier_and_trim_their_name() {
    assert_eq!(
        new_key(br#"{"name":"  alice "}"#),
        Ok(NewKey {
            name: "alice".into(),
            tier: Tier::Free
        })
    );
    assert_eq!(
        new_key(br#"{"name":"bob","tier":"admin"}"#).map(|k| k.tier),
        Ok(Tier::Admin)
    );
}

#[test]
fn key_names_and_tiers_are_checked() {
    assert_eq!(
        fails(new_key(br#"{"tier":"free"}"#)),
        (422, "missing_field".into(), Some("name".into()))
    );
    let long = format!(r#"{{"name":"{}"}}"#, "é".repeat(101));
    let error = new_key(long.as_bytes()).expect_err("101 characters");
    assert_eq!(error.message, "the name has 101 characters; give 1 to 100");
    assert_eq!(error.code, "invalid_name");
    let exactly = format!(r#"{{"name":"{}"}}"#, "é".repeat(100));
    assert!(new_key(exactly.as_bytes()).is_ok());
    assert_eq!(
        fails(new_key(br#"{"name":" "}"#)),
        (422, "invalid_name".into(), Some("name".into()))
    );
    let gold = new_key(br#"{"name":"c","tier":"gold"}"#).expect_err("no gold tier");
    assert_eq!(
        code_and_field(gold.clone()),
        (422, "invalid_tier".into(), Some("tier".into()))
    );
    assert_eq!(
        gold.message,
        "tier `gold` does not exist; use `free`, `premium` or `admin`"
    );
}

#[test]
fn templates_need_a_name_and_body_and_default_the_rest() {
    assert_eq!(
        new_template(br#"{"name":"a","body":"b"}"#),
        Ok(NewTemplate {
            name: "a".into(),
            description: String::new(),
            body: "b".into(),
            tags: vec![],
        })
    );
    assert_eq!(
        fails(new_template(br#"{"name":"a"}"#)),
        (422, "missing_field".into(), Some("body".into()))
    );
    assert_eq!(
        fails(new_template(br#"{"name":5,"body":"b"}"#)),
        (400, "malformed_json".into(), Some("name".into()))
    );
    assert_eq!(
        fails(new_template(br#"{"name":"a","body":"b","colour":1}"#)),
        (400, "unknown_field".into(), Some("colour".into()))
    );
}

#[test]
fn updates_need_a_body_and_keep_absent_metadata_absent() {
    assert_eq!(
        template_update(br#"{"body":"v2","tags":["x"]}"#),
        Ok(TemplateUpdate {
            body: "v2".into(),
            name: None,
            description: None,
            tags: Some(vec!["x".into()]),
        })
    );
    assert_eq!(
        fails(template_update(br#"{"name":"n"}"#)),
        (422, "missing_field".into(), Some("body".into()))
    );
}

#[test]
fn labels_need_a_version() {
    assert_eq!(label_target(br#"{"version":2}"#), Ok(2));
    assert_eq!(
        fails(label_target(b"{}")),
        (422, "missing_field".into(), Some("version".into()))
    );
}

#[test]
fn prompt_requests_render_a_template_or_take_a_prompt() {
    assert_eq!(
        prompt_request(br#"{"template_id":"tpl_1","variables":{"subject":"cat"}}"#),
        Ok(PromptSource::Template {
            id: "tpl_1".into(),
            selector: Selector::Auto,
            variables: vec![("subject".into(), "cat".into())],
        })
    );
    assert_eq!(
        prompt_request(br#"{"template_id":"tpl_1","label":"production"}"#),
        Ok(PromptSource::Template {
            id: "tpl_1".into(),
            selector: Selector::Label("production".into()),
            variables: vec![],
        })
    );
    assert_eq!(
        prompt_request(br#"{"template_id":"tpl_1","version":3}"#).map(|s| match s {
            PromptSource::Template { selector, .. } => selector,
            PromptSource::Text(_) => Selector::Auto,
        }),
        Ok(Selector::Number(3))
    );
    assert_eq!(
        prompt_request(br#"{"prompt":"a cat"}"#),
        Ok(PromptSource::Text("a cat".into()))
    );
}

#[test]
fn prompt_requests_need_exactly_one_source_and_one_selector() {
    assert_eq!(
        fails(prompt_request(br#"{"variables":{}}"#)),
        (422, "missing_field".into(), Some("template_id".into()))
    );
    assert_eq!(
        fails(prompt_request(br#"{"template_id":"t","prompt":"p"}"#)),
        (422, "invalid_field".into(), Some("prompt".into()))
    );
    assert_eq!(
        fails(prompt_request(
            br#"{"template_id":"t","version":1,"label":"l"}"#
        )),
        (422, "invalid_field".into(), Some("label".into()))
    );
    assert_eq!(
        fails(prompt_request(br#"{"prompt":"p","variables":{"a":"b"}}"#)),
        (422, "invalid_field".into(), Some("variables".into()))
    );
    assert_eq!(
        fails(prompt_request(br#"{"template_id":"t","label":""}"#)),
        (422, "invalid_field".into(), Some("label".into()))
    );
    assert_eq!(
        fails(prompt_request(
            br#"{"prompt":"p","callback_url":"http://x"}"#
        )),
        (400, "unknown_field".into(), Some("callback_url".into()))
    );
}

#[test]
fn generate_requests_take_an_http_callback_url() {
    assert_eq!(
        generate_request(br#"{"prompt":"a cat","callback_url":"https://hooks.example.com/x"}"#),
        Ok(GenerateRequest {
            source: PromptSource::Text("a cat".into()),
            callback_url: Some("https://hooks.example.com/x".into()),
        })
    );
    let error =
        generate_request(br#"{"prompt":"a cat","callback_url":"ftp://x"}"#).expect_err("ftp");
    assert_eq!(
        code_and_field(error.clone()),
        (
            422,
            "invalid_callback_url".into(),
            Some("callback_url".into())
        )
    );
    assert_eq!(
        error.message,
        "callback URL `ftp://x` has a scheme other than http or https; give an absolute \
         http:// or https:// URL"
    );
}

#[test]
fn callback_urls_need_a_host_and_no_white_space() {
    assert_eq!(check_callback_url("http://127.0.0.1:9000/hooks"), Ok(()));
    assert_eq!(check_callback_url("HTTPS://Example.com"), Ok(()));
    for bad in [
        "http://",
        "http:///path",
        "https://:80/x",
        "http://a b",
        "example.com/x",
    ] {
        assert!(check_callback_url(bad).is_err(), "{bad}");
    }
    let long = format!("https://example.com/{}", "a".repeat(2048));
    let error = check_callback_url(&long).expect_err("too long");
    assert!(
        error.message.contains("is 2068 bytes, over 2048"),
        "{}",
        error.message
    );
}

#[test]
fn ratings_take_a_score_from_one_to_five() {
    assert_eq!(
        new_rating(br#"{"score":5,"feedback":"lovely"}"#),
        Ok(NewRating {
            score: 5,
            feedback: Some("lovely".into())
        })
    );
    for (body, shown) in [
        (r#"{"score":6}"#, "6"),
        (r#"{"score":0}"#, "0"),
        (r#"{"score":-3}"#, "-3"),
    ] {
        let error = new_rating(body.as_bytes()).expect_err(body);
        assert_eq!(
            code_and_field(error.clone()),
            (422, "score_out_of_range".into(), Some("score".into()))
        );
        assert_eq!(
            error.message,
            format!("score {shown} is out of range; give a whole number from 1 to 5")
        );
    }
    assert_eq!(
        fails(new_rating(br#"{"score":"5"}"#)),
        (400, "malformed_json".into(), Some("score".into()))
    );
    assert_eq!(
        fails(new_rating(b"{}")),
        (422, "missing_field".into(), Some("score".into()))
    );
}

#[test]
fn experiment_arms_default_their_weight_to_one() {
    assert_eq!(
        experiment_arms(br#"{"arms":[{"version":1},{"version":2,"weight":3}]}"#),
        Ok(vec![
            Arm {
                version: 1,
                weight: 1
            },
            Arm {
                version: 2,
                weight: 3
            }
        ])
    );
    assert_eq!(
        fails(experiment_arms(br#"{"arms":[{"weight":1}]}"#)),
        (422, "missing_field".into(), Some("arms[0].version".into()))
    );
    assert_eq!(
        fails(experiment_arms(b"{}")),
        (422, "missing_field".into(), Some("arms".into()))
    );
}

#[test]
fn bodies_without_fields_accept_nothing_or_an_empty_object() {
    assert_eq!(no_fields(b""), Ok(()));
    assert_eq!(no_fields(b"{}"), Ok(()));
    assert_eq!(
        fails(no_fields(br#"{"reason":"x"}"#)),
        (400, "unknown_field".into(), Some("reason".into()))
    );
}

#[test]
fn arms_must_name_existing_versions() {
    let arms = [
        Arm {
            version: 1,
            weight: 1,
        },
        Arm {
            version: 7,
            weight: 1,
        },
    ];
    assert_eq!(check_arm_versions(&arms[..1], &[1, 2]), Ok(()));
    let error = check_arm_versions(&arms, &[1, 2]).expect_err("no version 7");
    assert_eq!(
        code_and_field(error.clone()),
        (
            422,
            "unknown_version".into(),
            Some("arms[1].version".into())
        )
    );
    assert_eq!(
        error.message,
        "the template has no version 7; its versions are 1 to 2"
    );
}
