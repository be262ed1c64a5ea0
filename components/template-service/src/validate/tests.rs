use super::*;
use crate::error::FieldError;

fn field_error(result: Result<impl std::fmt::Debug, Error>) -> FieldError {
    match result {
        Err(Error::Invalid(e)) => e,
        other => panic!("expected a field error, got {other:?}"),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn names_are_trimmed_and_1_to_100_characters() {
    assert_eq!(name("  Portrait  "), Ok("Portrait".to_string()));
    assert_eq!(name(&"é".repeat(100)), Ok("é".repeat(100)));
    let empty = field_error(name("   "));
    assert_eq!(
        empty,
        FieldError {
            field: "name".into(),
            code: "invalid_name".into(),
            message: "name is empty: give the template a name of 1 to 100 characters".into(),
        }
    );
    let long = field_error(name(&"a".repeat(101)));
    assert_eq!(long.code, "invalid_name");
    assert_eq!(
        long.message,
        "name is 101 characters long: shorten it to at most 100 characters"
    );
}

#[test]
fn name_keys_fold_case_in_any_script() {
    assert_eq!(name_key("Ärger TWIN"), "ärger twin");
}

#[test]
fn descriptions_are_trimmed_and_at_most_1000_characters() {
    assert_eq!(description(""), Ok(String::new()));
    assert_eq!(description(" film look \n"), Ok("film look".to_string()));
    assert_eq!(description(&"x".repeat(1000)), Ok("x".repeat(1000)));
    let long = field_error(description(&"x".repeat(1001)));
    assert_eq!(
        long,
        FieldError {
            field: "description".into(),
            code: "invalid_description".into(),
            message: "description is 1001 characters long: shorten it to at most 1000 characters"
                .into(),
        }
    );
}

#[test]
fn tags_are_lower_cased_trimmed_sorted_and_deduplicated() {
    let given = strings(&[" Photo", "portrait", "photo ", "b-w", "35mm"]);
    assert_eq!(
        tags(&given),
        Ok(strings(&["35mm", "b-w", "photo", "portrait"]))
    );
    assert_eq!(tags(&[]), Ok(vec![]));
}

#[test]
fn a_bad_tag_is_named_by_its_index() {
    let bad = field_error(tags(&strings(&["ok", "not ok!"])));
    assert_eq!(
        bad,
        FieldError {
            field: "tags[1]".into(),
            code: "invalid_tag".into(),
            message: "tag `not ok!` contains ` `: use only the letters a-z, digits 0-9 and `-`"
                .into(),
        }
    );
    let empty = field_error(tags(&strings(&["a", "b", "  "])));
    assert_eq!(
        (empty.field.as_str(), empty.code.as_str()),
        ("tags[2]", "invalid_tag")
    );
    assert_eq!(
        empty.message,
        "tag 2 is empty: remove it or write 1 to 40 characters"
    );
    let long = field_error(tags(&[("a".repeat(41))]));
    assert_eq!(long.field, "tags[0]");
    assert_eq!(
        long.message,
        format!(
            "tag `{}` is 41 characters long: shorten it to at most 40",
            "a".repeat(41)
        )
    );
    assert_eq!(tags(&["a".repeat(40)]), Ok(vec!["a".repeat(40)]));
    let accent = field_error(tags(&strings(&["café"])));
    assert_eq!(accent.field, "tags[0]");
    assert_eq!(
        accent.message,
        "tag `café` contains `é`: use only the letters a-z, digits 0-9 and `-`"
    );
}

#[test]
fn at_most_20_distinct_tags() {
    let twenty: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
    assert_eq!(tags(&twenty).map(|t| t.len()), Ok(20));
    let with_repeats: Vec<String> = twenty.iter().chain(&twenty).cloned().collect();
    assert_eq!(tags(&with_repeats).map(|t| t.len()), Ok(20));
    let mut too_many = twenty;
    too_many.push("t20".into());
    let error = field_error(tags(&too_many));
    assert_eq!(
        error,
        FieldError {
            field: "tags".into(),
            code: "too_many_tags".into(),
            message: "21 distinct tags given: use at most 20".into(),
        }
    );
}

#[test]
fn a_body_yields_its_variables_in_order_of_first_use() {
    let body = "a {{subject}} in {{ style }} style, {{subject}} again";
    assert_eq!(self::body(body), Ok(strings(&["subject", "style"])));
    assert_eq!(self::body("no placeholders"), Ok(vec![]));
}

#[test]
fn a_body_is_1_to_10000_characters() {
    assert_eq!(self::body(&"é".repeat(10_000)), Ok(vec![]));
    let long = field_error(self::body(&"é".repeat(10_001)));
    assert_eq!(
        long,
        FieldError {
            field: "body".into(),
            code: "invalid_body".into(),
            message: "body is 10001 characters long: shorten it to at most 10000 characters".into(),
        }
    );
    for empty in ["", " \n "] {
        let error = field_error(self::body(empty));
        assert_eq!(
            (error.field.as_str(), error.code.as_str()),
            ("body", "invalid_body")
        );
        assert_eq!(
            error.message,
            "body is empty: write the prompt text, with `{{variable}}` placeholders where \
             values go"
        );
    }
}

#[test]
fn a_body_that_does_not_parse_is_an_invalid_template_with_the_position() {
    let error = field_error(self::body("a {{subject"));
    assert_eq!(
        error,
        FieldError {
            field: "body".into(),
            code: "invalid_template".into(),
            message: "`{{` at character 2 is never closed; add `}}` after the name".into(),
        }
    );
}

#[test]
fn latest_is_a_reserved_label() {
    let error = field_error(label("latest"));
    assert_eq!(
        error,
        FieldError {
            field: "label".into(),
            code: "label_reserved".into(),
            message: "label `latest` always points at the highest version and cannot be set or \
                      deleted: choose another label name"
                .into(),
        }
    );
}

#[test]
fn labels_are_lower_case_letters_digits_underscores_and_dashes() {
    for good in ["production", "a", "0", "canary_2-b", &"x".repeat(63)] {
        assert_eq!(label(good), Ok(()), "{good}");
    }
    for bad in [
        "",
        "Production",
        "-beta",
        "_beta",
        "with space",
        "é",
        &"x".repeat(64),
    ] {
        let error = field_error(label(bad));
        assert_eq!(
            (error.field.as_str(), error.code.as_str()),
            ("label", "invalid_label")
        );
    }
    assert_eq!(
        field_error(label("Production")).message,
        "label `Production` is invalid: use 1 to 63 characters of a-z, 0-9, `_` and `-`, \
         starting with a letter or digit"
    );
}

#[test]
fn limits_are_1_to_100() {
    assert_eq!(limit(1), Ok(1));
    assert_eq!(limit(100), Ok(100));
    for bad in [0, 101] {
        let error = field_error(limit(bad));
        assert_eq!(
            (error.field.as_str(), error.code.as_str()),
            ("limit", "invalid_limit")
        );
    }
    assert_eq!(
        field_error(limit(0)).message,
        "limit 0 is out of range: ask for 1 to 100 templates per page"
    );
}
