//! The whole pipeline, including the field cases C02, C03, C07, C12, C13 and C15.

use super::{Prompt, render, validate};
use crate::issue::{Code, Issue, Rejection};
use crate::midjourney::{Model, Parameter, Segment};
use crate::policy::{Policy, parse_banned_words};

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn with_max_length(max_length: usize) -> Policy {
    Policy {
        max_length,
        ..Policy::default()
    }
}

fn one_segment(text: &str) -> Vec<Segment> {
    vec![Segment {
        text: text.to_owned(),
        weight: 1.0,
    }]
}

#[test]
fn c02_a_prompt_exactly_at_the_limit_passes() {
    let at_limit = "猫".repeat(30);
    let prompt = validate(&at_limit, &with_max_length(30)).expect("at the limit");
    assert_eq!(prompt.length, 30);
    assert_eq!(prompt.text, at_limit);
}

#[test]
fn c02_one_character_over_the_limit_is_too_long() {
    let over = "猫".repeat(31);
    let rejection = validate(&over, &with_max_length(30)).expect_err("over the limit");
    assert_eq!(
        rejection,
        Rejection {
            text: over,
            issues: vec![Issue {
                code: Code::PromptTooLong,
                message: "the prompt is 31 characters, over the limit of 30; \
                          shorten it by 1 character"
                    .to_owned(),
                field: "prompt".to_owned(),
                position: 30,
            }],
        }
    );
}

#[test]
fn length_is_measured_after_normalisation() {
    let prompt = validate("  a \n\n cat  ", &with_max_length(5)).expect("5 characters");
    assert_eq!((prompt.text.as_str(), prompt.length), ("a cat", 5));
}

#[test]
fn c03_em_dash_and_double_space_are_normalised_and_parsed() {
    let prompt = render(
        "a {{subject}}  \u{2014}ar 16:9",
        &vars(&[("subject", "cat")]),
        &Policy::default(),
    )
    .expect("valid");
    assert_eq!(
        prompt,
        Prompt {
            text: "a cat --ar 16:9".to_owned(),
            length: 15,
            parameters: vec![Parameter {
                name: "ar".to_owned(),
                value: "16:9".to_owned(),
                position: 6,
            }],
            segments: one_segment("a cat"),
            model: Model::V7,
        }
    );
}

#[test]
fn c07_banned_words_match_whole_words_only() {
    let policy = Policy {
        banned_words: parse_banned_words("ass, bra, nude, no clothes"),
        ..Policy::default()
    };
    for fine in [
        "green grass, classic glass",
        "zebra and cobra in Brazil",
        "apple",
    ] {
        let prompt = validate(fine, &policy).expect(fine);
        assert_eq!(prompt.text, fine);
    }
    let refused = [
        (
            "Nude figure",
            "`nude` is a banned word (found `Nude` at character 0)",
        ),
        (
            "NUDE",
            "`nude` is a banned word (found `NUDE` at character 0)",
        ),
        (
            "no  clothes",
            "`no clothes` is a banned word (found `no clothes` at character 0)",
        ),
    ];
    for (prompt, start) in refused {
        let rejection = validate(prompt, &policy).expect_err(prompt);
        assert_eq!(rejection.codes(), ["banned_word"], "{prompt}");
        assert_eq!(rejection.issues[0].field, "prompt");
        assert_eq!(
            rejection.issues[0].message,
            format!("{start}; remove or rephrase it")
        );
    }
}

#[test]
fn default_banned_words_are_refused() {
    let rejection = validate("naked gore", &Policy::default()).expect_err("banned");
    assert_eq!(rejection.codes(), ["banned_word", "banned_word"]);
    let positions: Vec<usize> = rejection.issues.iter().map(|i| i.position).collect();
    assert_eq!(positions, [0, 6]);
}

#[test]
fn c12_a_missing_variable_rejects_with_nothing_rendered() {
    let rejection = render(
        "a {{subject}} in {{style}} style",
        &vars(&[("subject", "cat")]),
        &Policy::default(),
    )
    .expect_err("missing");
    assert_eq!(rejection.text, "");
    assert_eq!(rejection.codes(), ["missing_variable"]);
    assert_eq!(rejection.issues[0].field, "variables.style");
    assert!(!format!("{rejection:?}").contains("a cat in {{"));
}

#[test]
fn c12_rendered_output_never_holds_double_braces() {
    let cases = [
        (
            "a {{subject}} in {{style}} style",
            vars(&[("subject", "{{style}}"), ("style", "noir")]),
        ),
        ("a {{subject}}{ x", vars(&[("subject", "cat{")])),
        ("a {{subject}}} x", vars(&[("subject", "cat}")])),
    ];
    for (body, variables) in cases {
        let rejection = render(body, &variables, &Policy::default()).expect_err(body);
        assert_eq!(rejection.codes(), ["invalid_variable"], "{body}");
        assert_eq!(rejection.text, "");
    }
}

#[test]
fn c13_values_are_inserted_literally() {
    let prompt = render(
        "{{subject}} cartoon",
        &vars(&[("subject", "Tom & Jerry \"classic\" <3")]),
        &Policy::default(),
    )
    .expect("valid");
    assert_eq!(prompt.text, "Tom & Jerry \"classic\" <3 cartoon");
    assert_eq!(prompt.length, 32);
}

#[test]
fn c15_unicode_is_kept_and_counted_in_characters() {
    let subject = "猫猫 🐱 in 東京";
    let prompt = render(
        "{{subject}}",
        &vars(&[("subject", subject)]),
        &Policy::default(),
    )
    .expect("valid");
    assert_eq!(prompt.text, subject);
    assert_eq!(prompt.length, 10);
    assert_eq!(prompt.text.len(), 21);
    assert_eq!(prompt.segments, one_segment(subject));
}

#[test]
fn every_problem_of_a_prompt_is_reported_in_position_order() {
    let rejection = validate(
        "a nude cat --chaos 101 --stylize 5000 --zoom 2",
        &with_max_length(40),
    )
    .expect_err("invalid");
    let found: Vec<(&str, usize)> = rejection
        .issues
        .iter()
        .map(|i| (i.code.as_str(), i.position))
        .collect();
    assert_eq!(
        found,
        [
            ("banned_word", 2),
            ("invalid_parameter_value", 11),
            ("invalid_parameter_value", 23),
            ("unknown_parameter", 38),
            ("prompt_too_long", 40),
        ]
    );
    assert_eq!(
        rejection.text,
        "a nude cat --chaos 101 --stylize 5000 --zoom 2"
    );
}

#[test]
fn a_hand_written_multi_prompt_gets_weighted_segments() {
    let prompt = validate("a::2 b::-0.5 c --v 6", &Policy::default()).expect("valid");
    assert_eq!(
        prompt.segments,
        [
            Segment {
                text: "a".to_owned(),
                weight: 2.0
            },
            Segment {
                text: "b".to_owned(),
                weight: -0.5
            },
            Segment {
                text: "c".to_owned(),
                weight: 1.0
            },
        ]
    );
    assert_eq!(prompt.model, Model::V6);
}

#[test]
fn a_blank_prompt_is_empty() {
    let rejection = validate(" \u{a0} ", &Policy::default()).expect_err("empty");
    assert_eq!(rejection.text, "");
    assert_eq!(rejection.codes(), ["empty_prompt"]);
}

#[test]
fn template_and_validation_problems_are_not_mixed() {
    let rejection = render("{{a}} nude", &vars(&[("b", "x")]), &Policy::default())
        .expect_err("template problems first");
    assert_eq!(rejection.codes(), ["missing_variable", "unknown_variable"]);
}

#[test]
fn the_default_model_of_the_policy_is_used() {
    let policy = Policy {
        default_model: Model::Niji6,
        ..Policy::default()
    };
    let prompt = validate("a cat --style raw", &policy).expect("valid");
    assert_eq!(prompt.model.name(), "niji 6");
    let rejection = validate("a cat --tile", &policy).expect_err("no tile on niji");
    assert_eq!(rejection.codes(), ["parameter_not_supported"]);
}
