use super::{Part, parse, placeholders, render};
use crate::issue::{Code, Issue};

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// (code, field, position) of each issue, for compact exact assertions.
fn summary(issues: &[Issue]) -> Vec<(Code, String, usize)> {
    issues
        .iter()
        .map(|i| (i.code, i.field.clone(), i.position))
        .collect()
}

fn body_issue(position: usize) -> (Code, String, usize) {
    (Code::InvalidTemplate, "body".to_owned(), position)
}

#[test]
fn placeholders_are_listed_in_order_of_first_use_without_repeats() {
    let names = placeholders("{{b}} and {{ a }} then {{b}} and {{_c9}}").expect("valid");
    assert_eq!(names, ["b", "a", "_c9"]);
}

#[test]
fn spaces_inside_the_braces_are_allowed() {
    let parts = parse("x {{  subject\t}} y").expect("valid");
    assert_eq!(
        parts,
        [
            Part::Literal("x ".into()),
            Part::Placeholder {
                name: "subject".into(),
                position: 2
            },
            Part::Literal(" y".into()),
        ]
    );
}

#[test]
fn single_braces_are_literal_text() {
    let out = render("a {red, blue} {{x}} {y}", &vars(&[("x", "bird")])).expect("valid");
    assert_eq!(out, "a {red, blue} bird {y}");
}

#[test]
fn a_body_without_placeholders_renders_as_itself() {
    assert_eq!(
        placeholders("plain text").expect("valid"),
        Vec::<String>::new()
    );
    assert_eq!(render("plain text", &[]).expect("valid"), "plain text");
}

#[test]
fn unclosed_opener_is_refused_at_its_position() {
    let issues = placeholders("a {{subject in").expect_err("unclosed");
    assert_eq!(summary(&issues), [body_issue(2)]);
    assert_eq!(
        issues[0].message,
        "`{{` at character 2 is never closed; add `}}` after the name"
    );
}

#[test]
fn an_opener_followed_by_another_opener_is_unclosed() {
    let issues = placeholders("{{a {{b}}").expect_err("unclosed");
    assert_eq!(summary(&issues), [body_issue(0)]);
}

#[test]
fn empty_name_is_refused() {
    let issues = placeholders("x {{ }} y {{}}").expect_err("empty");
    assert_eq!(summary(&issues), [body_issue(2), body_issue(10)]);
    assert_eq!(
        issues[0].message,
        "placeholder `{{ }}` at character 2 has no name; write a name such as `{{subject}}`"
    );
}

#[test]
fn invalid_names_are_refused() {
    let issues = placeholders("{{1x}} {{a-b}} {{ a b }} {{é}}").expect_err("invalid");
    assert_eq!(
        summary(&issues),
        [body_issue(0), body_issue(7), body_issue(15), body_issue(25)]
    );
    assert_eq!(
        issues[1].message,
        "placeholder name `a-b` at character 7 is invalid; use letters, digits and `_`, \
         starting with a letter or `_`"
    );
}

#[test]
fn stray_closer_is_refused() {
    let issues = placeholders("a }} b {{x}}}}").expect_err("stray");
    assert_eq!(summary(&issues), [body_issue(2), body_issue(12)]);
    assert_eq!(
        issues[0].message,
        "`}}` at character 2 closes no placeholder; remove it or open one with `{{`"
    );
}

#[test]
fn triple_brace_is_refused_once() {
    let issues = placeholders("a {{{x}}} b").expect_err("triple");
    assert_eq!(summary(&issues), [body_issue(2)]);
    assert_eq!(
        issues[0].message,
        "`{{{` at character 2: a placeholder opens with exactly two braces; write `{{name}}`"
    );
}

#[test]
fn every_template_problem_is_reported() {
    let issues = placeholders("}} {{}} {{9}} {{ok}} {{{z}}} {{open").expect_err("many");
    assert_eq!(
        summary(&issues),
        [
            body_issue(0),
            body_issue(3),
            body_issue(8),
            body_issue(21),
            body_issue(29)
        ]
    );
}

#[test]
fn positions_count_characters_not_bytes() {
    let issues = placeholders("猫🐱 }}").expect_err("stray");
    assert_eq!(summary(&issues), [body_issue(3)]);
}

#[test]
fn c12_a_missing_variable_is_named_and_nothing_is_rendered() {
    let issues = render(
        "a {{subject}} in {{style}} style",
        &vars(&[("subject", "cat")]),
    )
    .expect_err("missing");
    assert_eq!(
        summary(&issues),
        [(Code::MissingVariable, "variables.style".to_owned(), 17)]
    );
    assert_eq!(
        issues[0].message,
        "no value for `style`, used at character 17 of the template; add `style` to the variables"
    );
}

#[test]
fn an_unused_variable_is_refused() {
    let issues =
        render("a {{subject}}", &vars(&[("subject", "cat"), ("mood", "x")])).expect_err("unknown");
    assert_eq!(
        summary(&issues),
        [(Code::UnknownVariable, "variables.mood".to_owned(), 0)]
    );
    assert_eq!(
        issues[0].message,
        "the template has no placeholder `mood`; remove `mood` from the variables or add \
         `{{mood}}` to the template"
    );
}

#[test]
fn empty_and_blank_values_are_invalid() {
    let issues = render("{{a}} {{b}}", &vars(&[("a", ""), ("b", " \u{a0}\t")])).expect_err("blank");
    assert_eq!(
        summary(&issues),
        [
            (Code::InvalidVariable, "variables.a".to_owned(), 0),
            (Code::InvalidVariable, "variables.b".to_owned(), 6),
        ]
    );
    assert_eq!(
        issues[0].message,
        "value of `a` is empty; give it some text"
    );
}

#[test]
fn values_holding_double_braces_are_invalid() {
    let issues =
        render("{{a}} {{b}}", &vars(&[("a", "x {{y}}"), ("b", "z }} w")])).expect_err("braces");
    assert_eq!(
        summary(&issues),
        [
            (Code::InvalidVariable, "variables.a".to_owned(), 0),
            (Code::InvalidVariable, "variables.b".to_owned(), 6),
        ]
    );
    assert_eq!(
        issues[0].message,
        "value of `a` (`x {{y}}`) contains `{{` or `}}`; remove the double braces"
    );
}

#[test]
fn a_value_forming_double_braces_with_the_template_is_invalid() {
    let issues = render("{{a}}} and {{{b}}", &vars(&[("a", "x}"), ("b", "{y")]));
    // `{{{b}}` is itself malformed; only the template problem is reported.
    assert_eq!(summary(&issues.expect_err("triple")), [body_issue(11)]);

    let issues = render(
        "{{a}}} {{b}}{{c}}",
        &vars(&[("a", "x}"), ("b", "y{"), ("c", "{z")]),
    )
    .expect_err("seams");
    assert_eq!(
        summary(&issues),
        [
            (Code::InvalidVariable, "variables.a".to_owned(), 0),
            (Code::InvalidVariable, "variables.c".to_owned(), 12),
        ]
    );
}

#[test]
fn a_variable_given_twice_is_invalid() {
    let issues = render("{{a}}", &vars(&[("a", "x"), ("a", "y")])).expect_err("twice");
    assert_eq!(
        summary(&issues),
        [(Code::InvalidVariable, "variables.a".to_owned(), 0)]
    );
}

#[test]
fn every_variable_problem_is_reported() {
    let issues = render(
        "{{a}} {{b}} {{c}}",
        &vars(&[("b", " "), ("x", "1"), ("y", "2")]),
    )
    .expect_err("many");
    assert_eq!(
        summary(&issues),
        [
            (Code::MissingVariable, "variables.a".to_owned(), 0),
            (Code::InvalidVariable, "variables.b".to_owned(), 6),
            (Code::MissingVariable, "variables.c".to_owned(), 12),
            (Code::UnknownVariable, "variables.x".to_owned(), 0),
            (Code::UnknownVariable, "variables.y".to_owned(), 0),
        ]
    );
}

#[test]
fn c13_values_are_inserted_literally() {
    let out = render(
        "{{subject}} cartoon",
        &vars(&[("subject", "Tom & Jerry \"classic\" <3")]),
    )
    .expect("valid");
    assert_eq!(out, "Tom & Jerry \"classic\" <3 cartoon");
}

#[test]
fn a_repeated_placeholder_gets_the_same_value() {
    let out = render("{{x}}, {{ x }}!", &vars(&[("x", "meow")])).expect("valid");
    assert_eq!(out, "meow, meow!");
}

#[test]
fn a_body_of_many_braces_is_parsed_in_linear_time() {
    let body = "{".repeat(150_000) + &"}".repeat(100_000);
    let issues = placeholders(&body).expect_err("malformed");
    // A `{{{` every 3 braces (the last one skips to the first `}}`), then stray `}}`s.
    assert_eq!(issues.len(), 50_000 + 49_999);
    assert_eq!(summary(&issues[..2]), [body_issue(0), body_issue(3)]);
    assert_eq!(summary(&issues[50_000..50_001]), [body_issue(150_002)]);
}
