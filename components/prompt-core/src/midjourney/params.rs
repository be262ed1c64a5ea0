//! The `--name value` parameters of a prompt: splitting them off the text and checking each
//! against the table for the model the prompt selects.

use super::Parameter;
use super::model::Model;
use super::table::{self, Name, Value};
use super::value;
use crate::issue::{Code, Issue};

/// A parameter as written: name without `--`, value tokens joined by single spaces, and the
/// character offset of its `--`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub name: String,
    pub value: String,
    pub position: usize,
}

/// Splits normalised text at its first parameter (a token starting with `--`): returns the
/// text before it and every parameter. Tokens up to the next parameter form the value.
pub fn split(text: &str) -> (&str, Vec<Written>) {
    let mut params: Vec<Written> = Vec::new();
    let mut text_end = text.len();
    let (mut byte, mut position) = (0, 0);

    for token in text.split(' ') {
        if let Some(name) = token.strip_prefix("--") {
            if params.is_empty() {
                text_end = byte;
            }
            params.push(Written {
                name: name.to_owned(),
                value: String::new(),
                position,
            });
        } else if let Some(last) = params.last_mut() {
            if !last.value.is_empty() {
                last.value.push(' ');
            }
            last.value.push_str(token);
        }
        byte += token.len() + 1;
        position += token.chars().count() + 1;
    }
    (text[..text_end].trim_end(), params)
}

/// The outcome of [`check`]: the model the parameters were checked against, the
/// recognised parameters and every problem.
#[derive(Debug)]
pub struct Checked {
    pub model: Model,
    pub parameters: Vec<Parameter>,
    pub issues: Vec<Issue>,
}

/// Checks names, duplicates, the model choice, each value and the combination rules.
pub fn check(written: &[Written], default_model: Model) -> Checked {
    let mut issues = Vec::new();
    let known = resolve(written, &mut issues);
    let model = choose_model(&known, default_model, &mut issues);

    for &(name, w) in &known {
        if !matches!(name, Name::V | Name::Niji) {
            issues.extend(check_one(name, w, model));
        }
    }
    issues.extend(character_weight_without_reference(&known, model));

    let parameters = known
        .iter()
        .map(|&(name, w)| Parameter {
            name: name.as_str().to_owned(),
            value: w.value.clone(),
            position: w.position,
        })
        .collect();
    Checked {
        model,
        parameters,
        issues,
    }
}

/// The known parameters, each once; unknown names and repeats become issues.
fn resolve<'a>(written: &'a [Written], issues: &mut Vec<Issue>) -> Vec<(Name, &'a Written)> {
    let mut known: Vec<(Name, &Written)> = Vec::new();
    for w in written {
        let Some(name) = table::lookup(&w.name) else {
            issues.push(unknown(w));
            continue;
        };
        match known.iter().find(|(n, _)| *n == name) {
            Some((_, first)) => issues.push(duplicate(w, first)),
            None => known.push((name, w)),
        }
    }
    known
}

/// The model `--v` or `--niji` selects, else the policy's default. Both given is a conflict;
/// `--v` then wins so the rest is still checked.
fn choose_model(known: &[(Name, &Written)], default: Model, issues: &mut Vec<Issue>) -> Model {
    let find = |wanted: Name| known.iter().find(|(n, _)| *n == wanted).map(|(_, w)| *w);
    let (version, niji) = (find(Name::V), find(Name::Niji));
    if let (Some(v), Some(n)) = (version, niji) {
        issues.push(model_conflict(v, n));
    }

    let mut pick = |w: Option<&Written>, kind: Value, parse: fn(&str) -> Option<Model>| {
        let w = w?;
        let model = parse(&w.value);
        if model.is_none() {
            issues.push(invalid_value(w, kind, None));
        }
        model
    };
    let from_version = pick(version, Value::Version, Model::from_version);
    let from_niji = pick(niji, Value::Niji, Model::from_niji);
    from_version.or(from_niji).unwrap_or(default)
}

/// Whether `model` accepts the parameter, and its value.
fn check_one(name: Name, w: &Written, model: Model) -> Option<Issue> {
    let Some(rule) = table::rule_for(name, model) else {
        return Some(not_supported(name, w, model));
    };
    (!value::accepts(rule.value, &w.value)).then(|| invalid_value(w, rule.value, Some(model)))
}

/// `--cw` weighs a `--cref`; alone it is a conflict (when the model knows `--cw` at all).
fn character_weight_without_reference(known: &[(Name, &Written)], model: Model) -> Option<Issue> {
    let has = |wanted: Name| known.iter().find(|(n, _)| *n == wanted).map(|(_, w)| *w);
    let cw = has(Name::Cw)?;
    if has(Name::Cref).is_some() || table::rule_for(Name::Cw, model).is_none() {
        return None;
    }
    Some(Issue::prompt(
        Code::ConflictingParameters,
        cw.position,
        format!(
            "`--{}` weighs a character reference but the prompt has no `--cref`; \
             add `--cref URL` or remove `--{}`",
            cw.name, cw.name
        ),
    ))
}

fn unknown(w: &Written) -> Issue {
    let known: Vec<String> = table::ALIASES
        .iter()
        .map(|(alias, _)| format!("--{alias}"))
        .collect();
    let what = if w.name.is_empty() {
        "`--` without a name".to_owned()
    } else {
        format!("`--{}`", w.name)
    };
    Issue::prompt(
        Code::UnknownParameter,
        w.position,
        format!(
            "{what} is not a parameter this service accepts; use one of {} or remove it",
            known.join(", ")
        ),
    )
}

fn duplicate(w: &Written, first: &Written) -> Issue {
    Issue::prompt(
        Code::DuplicateParameter,
        w.position,
        format!(
            "`--{}` repeats `--{}` given at character {}; keep only one",
            w.name, first.name, first.position
        ),
    )
}

fn model_conflict(version: &Written, niji: &Written) -> Issue {
    Issue::prompt(
        Code::ConflictingParameters,
        version.position.max(niji.position),
        format!(
            "`--{}` and `--{}` both choose a model; keep one of them",
            version.name, niji.name
        ),
    )
}

fn not_supported(name: Name, w: &Written, model: Model) -> Issue {
    Issue::prompt(
        Code::ParameterNotSupported,
        w.position,
        format!(
            "`--{}` is not supported by model {model}; it works with {}: remove it or choose \
             one of those models",
            w.name,
            table::supported_models(name).names()
        ),
    )
}

/// A malformed or out-of-range value; `model` is named when the range depends on it.
fn invalid_value(w: &Written, kind: Value, model: Option<Model>) -> Issue {
    let expected = value::expected(kind);
    let on_model = model.map(|m| format!(" on model {m}")).unwrap_or_default();
    let message = match (kind, w.value.is_empty()) {
        (Value::Flag, _) => format!("`--{}` takes no value; remove `{}`", w.name, w.value),
        (_, true) => format!("`--{}` needs a value{on_model}: {expected}", w.name),
        (_, false) => format!(
            "`--{} {}` is not valid{on_model}; use {expected}",
            w.name, w.value
        ),
    };
    Issue::prompt(Code::InvalidParameterValue, w.position, message)
}

#[cfg(test)]
mod tests {
    use super::{Written, split};

    fn written(name: &str, value: &str, position: usize) -> Written {
        Written {
            name: name.to_owned(),
            value: value.to_owned(),
            position,
        }
    }

    #[test]
    fn text_ends_at_the_first_double_dash_token() {
        let (text, params) = split("a red--fox --ar 16:9 --no big dogs --tile");
        assert_eq!(text, "a red--fox");
        assert_eq!(
            params,
            [
                written("ar", "16:9", 11),
                written("no", "big dogs", 21),
                written("tile", "", 35)
            ]
        );
    }

    #[test]
    fn a_prompt_may_start_with_a_parameter() {
        let (text, params) = split("--v 7");
        assert_eq!(text, "");
        assert_eq!(params, [written("v", "7", 0)]);
    }

    #[test]
    fn positions_count_characters() {
        let (text, params) = split("猫 🐱 --c 5");
        assert_eq!(text, "猫 🐱");
        assert_eq!(params, [written("c", "5", 4)]);
    }
}
