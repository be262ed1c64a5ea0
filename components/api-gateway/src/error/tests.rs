//! The mapping of each service error variant, and the error body.

use serde_json::json;

use super::*;

fn field_error(field: &str, code: &str, message: &str) -> FieldError {
    FieldError {
        field: field.into(),
        code: code.into(),
        message: message.into(),
    }
}

fn issue(code: &str, field: &str, position: u32) -> Issue {
    Issue {
        code: code.into(),
        message: format!("{code} at {position}"),
        field: field.into(),
        position,
    }
}

#[test]
fn not_found_takes_the_code_of_the_resource() {
    let cases = [
        (Subject::Template("tpl_1"), "template_not_found"),
        (Subject::Version("tpl_1", 3), "version_not_found"),
        (Subject::Label("tpl_1", "beta"), "label_not_found"),
        (Subject::Job("job_1"), "job_not_found"),
        (Subject::Image("img_1"), "image_not_found"),
        (Subject::Experiment("tpl_1"), "experiment_not_found"),
    ];
    for (subject, code) in cases {
        let error = ApiError::from_service(ServiceError::NotFound("gone".into()), subject);
        assert_eq!((error.status, error.code.as_str()), (404, code));
        assert_eq!(error.field, None);
    }
    let version = ApiError::not_found(Subject::Version("tpl_1", 3));
    assert_eq!(
        version.message,
        "template `tpl_1` has no version 3; see GET /api/templates/tpl_1/versions"
    );
}

#[test]
fn invalid_becomes_422_with_the_services_field_and_code() {
    let error = ApiError::from_service(
        ServiceError::Invalid(field_error(
            "tags[2]",
            "invalid_tag",
            "tag `a b` has a space",
        )),
        Subject::Template("tpl_1"),
    );
    assert_eq!(error.status, 422);
    assert_eq!(
        error.body(),
        json!({ "error": { "code": "invalid_tag", "message": "tag `a b` has a space", "field": "tags[2]" } })
    );
}

#[test]
fn invalid_in_a_listing_is_a_bad_query_parameter() {
    let error = ApiError::from_service(
        ServiceError::Invalid(field_error(
            "text",
            "too_long",
            "the search text is too long",
        )),
        Subject::Listing,
    );
    assert_eq!(
        (error.status, error.code.as_str(), error.field.as_deref()),
        (400, "invalid_query", Some("query.q"))
    );
    let cursor = ApiError::from_service(
        ServiceError::Invalid(field_error("cursor", "invalid_cursor", "bad cursor")),
        Subject::Listing,
    );
    assert_eq!(cursor.field.as_deref(), Some("query.cursor"));
}

#[test]
fn conflict_queue_full_and_internal_map_to_their_statuses() {
    let conflict = ApiError::from_service(
        ServiceError::Conflict("job `job_1` is succeeded".into()),
        Subject::Job("job_1"),
    );
    assert_eq!(
        (
            conflict.status,
            conflict.code.as_str(),
            conflict.message.as_str()
        ),
        (409, "conflict", "job `job_1` is succeeded")
    );
    let full = ApiError::from_service(ServiceError::QueueFull(7), Subject::Listing);
    assert_eq!((full.status, full.code.as_str()), (429, "queue_full"));
    assert_eq!(full.headers, [("retry-after".to_string(), "7".to_string())]);
    let zero = ApiError::from_service(ServiceError::QueueFull(0), Subject::Listing);
    assert_eq!(zero.headers, [("retry-after".to_string(), "1".to_string())]);
    let internal = ApiError::from_service(ServiceError::Internal("disk".into()), Subject::Listing);
    assert_eq!(
        (
            internal.status,
            internal.code.as_str(),
            internal.message.as_str()
        ),
        (500, "internal", "disk")
    );
}

#[test]
fn rejections_carry_every_issue_and_lead_with_the_first() {
    let error = ApiError::from_service(
        ServiceError::Rejected(vec![
            issue("invalid_parameter_value", "prompt", 6),
            issue("unknown_parameter", "prompt", 30),
        ]),
        Subject::Listing,
    );
    assert_eq!(error.status, 422);
    assert_eq!(
        error.body(),
        json!({ "error": {
            "code": "invalid_parameter_value",
            "message": "invalid_parameter_value at 6",
            "field": "prompt",
            "issues": [
                { "code": "invalid_parameter_value", "message": "invalid_parameter_value at 6", "field": "prompt", "position": 6 },
                { "code": "unknown_parameter", "message": "unknown_parameter at 30", "field": "prompt", "position": 30 },
            ],
        } })
    );
    let empty = ApiError::from_service(ServiceError::Rejected(vec![]), Subject::Listing);
    assert_eq!(
        (empty.status, empty.code.as_str(), empty.field.as_deref()),
        (422, "invalid_prompt", Some("prompt"))
    );
}

#[test]
fn error_responses_carry_their_headers_and_json_body() {
    let response =
        ApiError::method_not_allowed("PATCH", "/api/templates", &["GET", "POST"]).into_response();
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("GET, POST"));
    assert_eq!(
        response.body,
        crate::response::Body::Json(json!({ "error": {
            "code": "method_not_allowed",
            "message": "`/api/templates` does not accept PATCH; it accepts GET, POST",
            "field": null,
        } }))
    );
    let limited = ApiError::rate_limited(10, 42);
    assert_eq!(
        limited.headers,
        [("retry-after".to_string(), "42".to_string())]
    );
    assert_eq!(
        limited.message,
        "this key's limit of 10 requests a minute is used up; retry after 42 s"
    );
}

#[test]
fn body_errors_name_the_field_and_the_expected_type() {
    let error = ApiError::wrong_type(Some("name"), "a string", "a number");
    assert_eq!(
        error.body(),
        json!({ "error": { "code": "malformed_json", "message": "`name` must be a string, not a number", "field": "name" } })
    );
    let whole = ApiError::wrong_type(None, "a JSON object", "an array");
    assert_eq!(
        whole.message,
        "the body must be a JSON object, not an array"
    );
    assert_eq!(whole.field, None);
    let unknown = ApiError::unknown_field("colour", &["name", "body"]);
    assert_eq!(
        (
            unknown.status,
            unknown.code.as_str(),
            unknown.field.as_deref()
        ),
        (400, "unknown_field", Some("colour"))
    );
    assert_eq!(
        unknown.message,
        "unknown field `colour`; the fields here are `name`, `body`"
    );
}

#[test]
fn authentication_errors_ask_for_a_bearer_key() {
    let none = ApiError::unauthenticated("send a key");
    assert_eq!((none.status, none.code.as_str()), (401, "unauthenticated"));
    assert_eq!(
        none.headers,
        [("www-authenticate".to_string(), "Bearer".to_string())]
    );
    assert_eq!(ApiError::invalid_api_key().code, "invalid_api_key");
    assert_eq!(ApiError::forbidden("creating keys").status, 403);
}

#[test]
fn a_missing_version_or_label_of_a_missing_template_is_a_missing_template() {
    let version = Subject::Version("tpl_1", 2);
    assert_eq!(version.narrowed(true), version);
    assert_eq!(version.narrowed(false), Subject::Template("tpl_1"));
    assert_eq!(
        Subject::Label("tpl_1", "beta").narrowed(false),
        Subject::Template("tpl_1")
    );
    assert_eq!(Subject::Job("job_1").narrowed(false), Subject::Job("job_1"));
}

#[test]
fn not_found_from_other_calls_keeps_the_services_words() {
    let error = ApiError::from_service(
        ServiceError::NotFound("no such thing".into()),
        Subject::Other,
    );
    assert_eq!(
        (error.status, error.code.as_str(), error.message.as_str()),
        (404, "not_found", "no such thing")
    );
    let invalid = ApiError::from_service(
        ServiceError::Invalid(field_error("callback_url", "invalid_callback_url", "bad")),
        Subject::Other,
    );
    assert_eq!(
        (invalid.status, invalid.field.as_deref()),
        (422, Some("callback_url"))
    );
}
