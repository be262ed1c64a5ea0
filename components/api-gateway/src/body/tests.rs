//! Strict body reading: unknown fields, wrong types, nesting and absent values.

use super::*;

fn object(json: &str, allowed: &[&str]) -> Object {
    Object::parse(json.as_bytes(), allowed).expect("a valid object")
}

fn codes(error: ApiError) -> (u16, String, Option<String>) {
    (error.status, error.code, error.field)
}

#[test]
fn text_that_is_not_json_is_malformed_json() {
    let error = Object::parse(b"{nope", &["name"]).expect_err("not JSON");
    assert_eq!(codes(error.clone()), (400, "malformed_json".into(), None));
    assert_eq!(
        error.message,
        "the body is not valid JSON (key must be a string at line 1 column 2); send one JSON object"
    );
}

#[test]
fn a_body_that_is_not_an_object_is_malformed_json() {
    let error = Object::parse(b"[1]", &["name"]).expect_err("an array");
    assert_eq!(
        error.message,
        "the body must be a JSON object, not an array"
    );
    assert_eq!(error.field, None);
}

#[test]
fn an_empty_body_is_an_empty_object() {
    let mut body = Object::parse(b"  \n", &["name"]).expect("empty is {}");
    assert_eq!(body.string("name"), Ok(None));
}

#[test]
fn unknown_fields_are_named() {
    let error = Object::parse(br#"{"name":"a","body":"b","colour":1}"#, &["name", "body"])
        .expect_err("colour is unknown");
    assert_eq!(
        codes(error),
        (400, "unknown_field".into(), Some("colour".into()))
    );
}

#[test]
fn wrong_types_name_the_field_and_the_expected_type() {
    let mut body = object(
        r#"{"name":5,"version":-1,"score":2.5}"#,
        &["name", "version", "score"],
    );
    let name = body.string("name").expect_err("a number");
    assert_eq!(
        codes(name.clone()),
        (400, "malformed_json".into(), Some("name".into()))
    );
    assert_eq!(name.message, "`name` must be a string, not a number");
    let version = body.u32("version").expect_err("negative");
    assert_eq!(
        version.message,
        "`version` must be a whole number from 0 to 4294967295, not a negative number"
    );
    let score = body.integer("score").expect_err("fractional");
    assert_eq!(
        score.message,
        "`score` must be a whole number, not a fractional number"
    );
}

#[test]
fn null_reads_as_absent() {
    let mut body = object(r#"{"description":null}"#, &["description"]);
    assert_eq!(body.string("description"), Ok(None));
}

#[test]
fn integers_read_exactly_and_huge_ones_saturate() {
    let mut body = object(
        r#"{"a":7,"b":18446744073709551615,"c":4294967296}"#,
        &["a", "b", "c"],
    );
    assert_eq!(body.integer("a"), Ok(Some(7)));
    assert_eq!(body.integer("b"), Ok(Some(i64::MAX)));
    assert!(body.u32("c").is_err());
}

#[test]
fn list_elements_and_map_values_are_named_by_position_and_key() {
    let mut body = object(
        r#"{"tags":["ok",3],"variables":{"style":true}}"#,
        &["tags", "variables"],
    );
    let tags = body.string_list("tags").expect_err("3 is not a string");
    assert_eq!(
        codes(tags),
        (400, "malformed_json".into(), Some("tags[1]".into()))
    );
    let variables = body
        .string_map("variables")
        .expect_err("true is not a string");
    assert_eq!(
        codes(variables.clone()),
        (400, "malformed_json".into(), Some("variables.style".into()))
    );
    assert_eq!(
        variables.message,
        "`variables.style` must be a string, not a boolean"
    );
}

#[test]
fn lists_and_maps_read_in_full() {
    let mut body = object(
        r#"{"tags":["a","b"],"variables":{"x":"1","y":"2"}}"#,
        &["tags", "variables"],
    );
    assert_eq!(
        body.string_list("tags"),
        Ok(Some(vec!["a".into(), "b".into()]))
    );
    assert_eq!(
        body.string_map("variables"),
        Ok(Some(vec![
            ("x".into(), "1".into()),
            ("y".into(), "2".into())
        ]))
    );
}

#[test]
fn nested_objects_carry_their_path() {
    let mut body = object(
        r#"{"arms":[{"version":1},{"version":2,"colour":"red"}]}"#,
        &["arms"],
    );
    let error = body
        .objects("arms", &["version", "weight"])
        .expect_err("colour");
    assert_eq!(
        codes(error),
        (400, "unknown_field".into(), Some("arms[1].colour".into()))
    );

    let mut body = object(r#"{"arms":[{"version":"one"}]}"#, &["arms"]);
    let mut arms = body
        .objects("arms", &["version"])
        .expect("objects")
        .expect("present");
    let error = arms[0].u32("version").expect_err("a string");
    assert_eq!(error.field.as_deref(), Some("arms[0].version"));
    assert_eq!(arms[0].path("weight"), "arms[0].weight");

    let mut body = object(r#"{"arms":[5]}"#, &["arms"]);
    let error = body
        .objects("arms", &["version"])
        .expect_err("not an object");
    assert_eq!(error.field.as_deref(), Some("arms[0]"));
}

#[test]
fn required_values_that_are_absent_are_422_missing_field() {
    let error = require::<String>(None, "body", "give the template body").expect_err("absent");
    assert_eq!(
        codes(error.clone()),
        (422, "missing_field".into(), Some("body".into()))
    );
    assert_eq!(error.message, "`body` is required: give the template body");
    assert_eq!(require(Some(1), "body", "x"), Ok(1));
}
