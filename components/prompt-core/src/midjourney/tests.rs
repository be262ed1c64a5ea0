//! Every parameter of the table at each bound of its range, per group of models whose
//! range differs; plus model choice, duplicates, conflicts and the parsed output.

use super::{Model, Parameter, parse};

const OK: &[&str] = &[];
const BAD: &[&str] = &["invalid_parameter_value"];
const UNSUPPORTED: &[&str] = &["parameter_not_supported"];
const CONFLICT: &[&str] = &["conflicting_parameters"];

fn codes(prompt: &str) -> Vec<&'static str> {
    parse(prompt, Model::V7)
        .issues
        .iter()
        .map(|i| i.code.as_str())
        .collect()
}

/// Checks `a cat <params>` for each case against its expected codes.
fn assert_cases(cases: &[(&str, &[&str])]) {
    for (params, expected) in cases {
        let prompt = format!("a cat {params}");
        assert_eq!(codes(&prompt), *expected, "{prompt}");
    }
}

#[test]
fn ar_takes_whole_positive_ratios_on_every_model() {
    assert_cases(&[
        ("--ar 1:1", OK),
        ("--ar 16:9", OK),
        ("--aspect 9:16", OK),
        ("--v 1 --ar 2:3", OK),
        ("--niji 4 --ar 3:2", OK),
        ("--ar 0:1", BAD),
        ("--ar 1:0", BAD),
        ("--ar 1.5:1", BAD),
        ("--ar 16", BAD),
        ("--ar", BAD),
    ]);
}

#[test]
fn v_takes_the_listed_versions_only() {
    assert_cases(&[
        ("--v 1", OK),
        ("--v 5.0", OK),
        ("--v 5.2", OK),
        ("--version 6.1", OK),
        ("--v 7", OK),
        ("--v 0", BAD),
        ("--v 8", BAD),
        ("--v 5.3", BAD),
        ("--v", BAD),
    ]);
}

#[test]
fn niji_takes_4_to_6_or_no_value() {
    assert_cases(&[
        ("--niji 4", OK),
        ("--niji 6", OK),
        ("--niji", OK),
        ("--niji 3", BAD),
        ("--niji 7", BAD),
    ]);
}

#[test]
fn stylize_is_625_to_60000_on_1_to_3_and_0_to_1000_from_4() {
    assert_cases(&[
        ("--v 3 --s 625", OK),
        ("--v 2 --s 60000", OK),
        ("--v 3 --s 624", BAD),
        ("--v 1 --stylize 60001", BAD),
        ("--s 0", OK),
        ("--stylize 1000", OK),
        ("--v 4 --s 1000", OK),
        ("--niji 5 --s 0", OK),
        ("--s -1", BAD),
        ("--s 1001", BAD),
        ("--niji 6 --s 1001", BAD),
    ]);
}

#[test]
fn chaos_is_0_to_100_on_every_model() {
    assert_cases(&[
        ("--chaos 0", OK),
        ("--c 100", OK),
        ("--v 1 --c 100", OK),
        ("--c -1", BAD),
        ("--chaos 101", BAD),
        ("--niji 4 --c 101", BAD),
        ("--c 5.5", BAD),
    ]);
}

#[test]
fn quality_values_depend_on_the_version() {
    assert_cases(&[
        // 1–3: .25 .5 1 2 5
        ("--v 3 --q .25", OK),
        ("--v 2 --q 5", OK),
        ("--v 1 --q 0.1", BAD),
        ("--v 3 --q 3", BAD),
        ("--v 3 --q 6", BAD),
        // 4, 5.x, 6 and niji: .25 .5 1
        ("--v 4 --q .25", OK),
        ("--v 5.2 --q 1", OK),
        ("--niji 6 --quality 0.5", OK),
        ("--v 6 --q 0.1", BAD),
        ("--v 6 --q 2", BAD),
        ("--niji 5 --q 2", BAD),
        // 6.1: .25 .5 1 2
        ("--v 6.1 --q 0.25", OK),
        ("--v 6.1 --q 2", OK),
        ("--v 6.1 --q 0.1", BAD),
        ("--v 6.1 --q 4", BAD),
        // 7: 1 2 4
        ("--q 1", OK),
        ("--q 2.0", OK),
        ("--q 4", OK),
        ("--q .5", BAD),
        ("--q 8", BAD),
    ]);
}

#[test]
fn seed_is_0_to_4294967295_on_every_model() {
    assert_cases(&[
        ("--seed 0", OK),
        ("--seed 4294967295", OK),
        ("--v 1 --seed 4294967295", OK),
        ("--seed -1", BAD),
        ("--seed 4294967296", BAD),
    ]);
}

#[test]
fn no_takes_free_text_up_to_the_next_parameter() {
    assert_cases(&[
        ("--no plants, text --ar 1:1", OK),
        ("--v 1 --no red", OK),
        ("--no", BAD),
        ("--no --ar 1:1", BAD),
    ]);
}

#[test]
fn tile_is_a_flag_on_1_to_3_and_5_onwards() {
    assert_cases(&[
        ("--tile", OK),
        ("--v 1 --tile", OK),
        ("--v 5 --tile", OK),
        ("--v 6.1 --tile", OK),
        ("--tile yes", BAD),
        ("--v 4 --tile", UNSUPPORTED),
        ("--niji 6 --tile", UNSUPPORTED),
    ]);
}

#[test]
fn weird_is_0_to_3000_from_5_and_on_niji_5_and_6() {
    assert_cases(&[
        ("--weird 0", OK),
        ("--w 3000", OK),
        ("--v 5 --w 3000", OK),
        ("--niji 5 --w 0", OK),
        ("--w -1", BAD),
        ("--w 3001", BAD),
        ("--niji 6 --w 3001", BAD),
        ("--v 4 --weird 1", UNSUPPORTED),
        ("--v 3 --w 1", UNSUPPORTED),
        ("--niji 4 --w 1", UNSUPPORTED),
    ]);
}

#[test]
fn style_values_depend_on_the_model() {
    assert_cases(&[
        ("--v 4 --style 4a", OK),
        ("--v 4 --style 4c", OK),
        ("--v 4 --style raw", BAD),
        ("--v 5.1 --style raw", OK),
        ("--style raw", OK),
        ("--style RAW", OK),
        ("--style cute", BAD),
        ("--style", BAD),
        ("--niji 5 --style cute", OK),
        ("--niji 5 --style scenic", OK),
        ("--niji 5 --style raw", BAD),
        ("--niji 6 --style raw", OK),
        ("--v 5 --style raw", UNSUPPORTED),
        ("--v 3 --style raw", UNSUPPORTED),
        ("--niji 4 --style cute", UNSUPPORTED),
    ]);
}

#[test]
fn image_weight_range_depends_on_the_version() {
    assert_cases(&[
        // 1–3: -10000 to 10000
        ("--v 3 --iw -10000", OK),
        ("--v 3 --iw 10000", OK),
        ("--v 3 --iw -10001", BAD),
        ("--v 1 --iw 10001", BAD),
        // 4, 5.x and niji: 0 to 2
        ("--v 5 --iw 0", OK),
        ("--v 5.2 --iw 2", OK),
        ("--niji 6 --iw 2", OK),
        ("--v 5 --iw -0.1", BAD),
        ("--v 4 --iw 2.1", BAD),
        ("--niji 6 --iw 2.5", BAD),
        // 6, 6.1, 7: 0 to 3
        ("--iw 0", OK),
        ("--iw 3", OK),
        ("--v 6 --iw .5", OK),
        ("--iw -1", BAD),
        ("--iw 3.01", BAD),
        ("--v 6 --iw 3.5", BAD),
    ]);
}

#[test]
fn character_reference_takes_urls_on_6_6_1_and_niji_6() {
    assert_cases(&[
        ("--v 6 --cref https://a.io/c.png", OK),
        ("--v 6.1 --cref https://a.io/1.png https://a.io/2.png", OK),
        ("--niji 6 --cref https://a.io/c.png", OK),
        ("--v 6 --cref c.png", BAD),
        ("--v 6 --cref", BAD),
        ("--cref https://a.io/c.png", UNSUPPORTED),
        ("--v 5.2 --cref https://a.io/c.png", UNSUPPORTED),
    ]);
}

#[test]
fn character_weight_is_0_to_100_and_needs_a_character_reference() {
    assert_cases(&[
        ("--v 6 --cref https://a.io/c.png --cw 0", OK),
        ("--v 6 --cref https://a.io/c.png --cw 100", OK),
        ("--v 6 --cref https://a.io/c.png --cw -1", BAD),
        ("--v 6 --cref https://a.io/c.png --cw 101", BAD),
        ("--v 6 --cw 50", CONFLICT),
        ("--cw 50", UNSUPPORTED),
    ]);
}

#[test]
fn style_reference_takes_urls_or_codes_from_6_and_niji_6() {
    assert_cases(&[
        ("--sref https://a.io/s.png", OK),
        ("--sref 762351716", OK),
        ("--v 6 --sref random", OK),
        ("--niji 6 --sref https://a.io/s.png::2 123", OK),
        ("--sref abc", BAD),
        ("--sref", BAD),
        ("--v 5.2 --sref 123", UNSUPPORTED),
    ]);
}

#[test]
fn style_weight_is_0_to_1000_from_6_and_niji_6() {
    assert_cases(&[
        ("--sref 1 --sw 0", OK),
        ("--sw 1000", OK),
        ("--v 6 --sw 1000", OK),
        ("--niji 6 --sw 0", OK),
        ("--sw -1", BAD),
        ("--sw 1001", BAD),
        ("--v 5.2 --sw 100", UNSUPPORTED),
    ]);
}

#[test]
fn version_and_niji_together_conflict() {
    let issues = parse("a cat --v 6 --niji 6", Model::V7).issues;
    assert_eq!(issues.len(), 1);
    assert_eq!(
        (issues[0].code.as_str(), issues[0].position),
        ("conflicting_parameters", 12)
    );
    assert_eq!(
        issues[0].message,
        "`--v` and `--niji` both choose a model; keep one of them"
    );
}

#[test]
fn a_parameter_given_twice_under_any_alias_is_a_duplicate() {
    let issues = parse("a cat --s 100 --stylize 200", Model::V7).issues;
    assert_eq!(issues.len(), 1);
    assert_eq!(
        (issues[0].code.as_str(), issues[0].position),
        ("duplicate_parameter", 14)
    );
    assert_eq!(
        issues[0].message,
        "`--stylize` repeats `--s` given at character 6; keep only one"
    );
}

#[test]
fn unknown_parameters_are_named() {
    let issues = parse("a cat --zoom 2 --", Model::V7).issues;
    let found: Vec<(&str, usize)> = issues
        .iter()
        .map(|i| (i.code.as_str(), i.position))
        .collect();
    assert_eq!(found, [("unknown_parameter", 6), ("unknown_parameter", 15)]);
    assert!(issues[0].message.starts_with(
        "`--zoom` is not a parameter this service accepts; use one of --ar, --aspect, --v,"
    ));
    assert!(
        issues[1]
            .message
            .starts_with("`--` without a name is not a parameter")
    );
}

#[test]
fn messages_name_the_value_the_model_and_the_fix() {
    let issues = parse("a cat --v 4 --q 2 --weird 5 --tile on --c", Model::V7).issues;
    let messages: Vec<&str> = issues.iter().map(|i| i.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "`--q 2` is not valid on model 4; use one of .25, .5, 1",
            "`--weird` is not supported by model 4; it works with 5, 5.1, 5.2, 6, 6.1, 7, \
             niji 5, niji 6: remove it or choose one of those models",
            "`--tile` is not supported by model 4; it works with 1, 2, 3, 5, 5.1, 5.2, 6, \
             6.1, 7: remove it or choose one of those models",
            "`--c` needs a value on model 4: a whole number from 0 to 100",
        ]
    );
    let flag = parse("a cat --tile on", Model::V7).issues;
    assert_eq!(flag[0].message, "`--tile` takes no value; remove `on`");
}

#[test]
fn parameters_are_reported_with_canonical_names_values_and_positions() {
    let parsed = parse("a cat --ar 16:9 --s 250 --tile --no red dogs", Model::V7);
    assert_eq!(parsed.issues, []);
    let param = |name: &str, value: &str, position: usize| Parameter {
        name: name.to_owned(),
        value: value.to_owned(),
        position,
    };
    assert_eq!(
        parsed.parameters,
        [
            param("ar", "16:9", 6),
            param("stylize", "250", 16),
            param("tile", "", 24),
            param("no", "red dogs", 31),
        ]
    );
    assert_eq!(parsed.model, Model::V7);
}

#[test]
fn the_model_is_the_default_unless_the_prompt_selects_one() {
    assert_eq!(parse("a cat", Model::V6_1).model, Model::V6_1);
    assert_eq!(parse("a cat --v 5.2", Model::V7).model, Model::V5_2);
    assert_eq!(parse("a cat --niji 5", Model::V7).model, Model::Niji5);
    assert_eq!(parse("a cat --v 9", Model::V6).model, Model::V6);
}

#[test]
fn a_prompt_without_text_is_empty() {
    for prompt in ["", "--ar 16:9", "--v 7 --tile"] {
        assert_eq!(codes(prompt), ["empty_prompt"], "{prompt:?}");
    }
}
