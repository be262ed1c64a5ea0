use super::*;
use crate::FieldError;
use crate::testing::{arm, new_rating};

/// The field and code of an `invalid` error.
fn refusal<T: std::fmt::Debug>(result: Result<T, Error>) -> (String, String) {
    match result {
        Err(Error::Invalid(FieldError { field, code, .. })) => (field, code),
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_string(), code.to_string())
}

#[test]
fn scores_from_one_to_five_are_accepted() {
    for score in [1, 5] {
        let checked = rating(&new_rating("img_1", "key_a", score, 1)).expect("in range");
        assert_eq!(checked.score, score);
    }
}

#[test]
fn scores_outside_one_to_five_are_refused_with_the_value_and_range() {
    for score in [0, 6, 255] {
        assert_eq!(
            rating(&new_rating("img_1", "key_a", score, 1)),
            Err(Error::Invalid(FieldError {
                field: "score".into(),
                code: "score_out_of_range".into(),
                message: format!("score {score} is out of range: give a whole number from 1 to 5"),
            }))
        );
    }
}

#[test]
fn feedback_is_trimmed_and_empty_feedback_is_none() {
    let mut input = new_rating("img_1", "key_a", 4, 1);
    input.feedback = Some("  lovely light \n".into());
    assert_eq!(
        rating(&input).expect("valid").feedback,
        Some("lovely light".into())
    );
    input.feedback = Some(" \t ".into());
    assert_eq!(rating(&input).expect("valid").feedback, None);
}

#[test]
fn feedback_is_capped_in_characters_not_bytes() {
    let mut input = new_rating("img_1", "key_a", 4, 1);
    // 2000 three-byte characters are 6000 bytes but within the limit.
    input.feedback = Some("é".repeat(MAX_FEEDBACK_CHARS));
    assert!(rating(&input).is_ok());
    input.feedback = Some("é".repeat(MAX_FEEDBACK_CHARS + 1));
    assert_eq!(
        rating(&input),
        Err(Error::Invalid(FieldError {
            field: "feedback".into(),
            code: "feedback_too_long".into(),
            message: "feedback is 2001 characters long: shorten it to at most 2000 characters"
                .into(),
        }))
    );
}

#[test]
fn the_image_and_the_user_are_required() {
    let blank_image = new_rating(" ", "key_a", 4, 1);
    assert_eq!(
        refusal(rating(&blank_image)),
        pair("image_id", "missing_field")
    );
    let blank_user = new_rating("img_1", "", 4, 1);
    assert_eq!(refusal(rating(&blank_user)), pair("user", "missing_field"));
}

#[test]
fn a_template_and_its_version_come_together() {
    let mut no_version = new_rating("img_1", "key_a", 4, 1);
    no_version.template_version = None;
    assert_eq!(
        refusal(rating(&no_version)),
        pair("template_version", "missing_field")
    );
    let mut no_template = new_rating("img_1", "key_a", 4, 1);
    no_template.template_id = None;
    assert_eq!(
        refusal(rating(&no_template)),
        pair("template_id", "missing_field")
    );
    let neither = NewRating {
        template_id: None,
        template_version: None,
        ..new_rating("img_1", "key_a", 4, 1)
    };
    assert_eq!(rating(&neither).map(|r| r.template_id), Ok(None));
}

#[test]
fn ids_are_trimmed() {
    let checked = rating(&new_rating(" img_1 ", " key_a", 4, 1)).expect("valid");
    assert_eq!(
        (checked.image_id.as_str(), checked.user.as_str()),
        ("img_1", "key_a")
    );
}

#[test]
fn an_experiment_needs_two_to_ten_arms() {
    assert_eq!(
        arms(&[arm(1, 1)]),
        Err(Error::Invalid(FieldError {
            field: "arms".into(),
            code: "too_few_arms".into(),
            message: "an experiment needs at least 2 arms, not 1: \
                      give the control version and a version to compare with it"
                .into(),
        }))
    );
    assert_eq!(refusal(arms(&[])), pair("arms", "too_few_arms"));
    let eleven: Vec<Arm> = (1..=11).map(|v| arm(v, 1)).collect();
    assert_eq!(refusal(arms(&eleven)), pair("arms", "too_many_arms"));
    assert_eq!(arms(&eleven[..10]), Ok(()));
}

#[test]
fn arm_versions_are_distinct_and_from_one() {
    assert_eq!(
        arms(&[arm(1, 1), arm(2, 1), arm(1, 5)]),
        Err(Error::Invalid(FieldError {
            field: "arms[2].version".into(),
            code: "duplicate_version".into(),
            message: "version 1 is already arm 0: give each arm a different version".into(),
        }))
    );
    assert_eq!(
        refusal(arms(&[arm(1, 1), arm(0, 1)])),
        pair("arms[1].version", "unknown_version")
    );
}

#[test]
fn arm_weights_are_from_one_to_a_thousand() {
    assert_eq!(arms(&[arm(1, 1), arm(2, 1000)]), Ok(()));
    assert_eq!(
        arms(&[arm(1, 1), arm(2, 0)]),
        Err(Error::Invalid(FieldError {
            field: "arms[1].weight".into(),
            code: "weight_out_of_range".into(),
            message: "weight 0 is out of range: give a whole number from 1 to 1000".into(),
        }))
    );
    assert_eq!(
        refusal(arms(&[arm(1, 1001), arm(2, 1)])),
        pair("arms[0].weight", "weight_out_of_range")
    );
}
