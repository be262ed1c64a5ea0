//! Midjourney prompt syntax: the text (with `::` weights) up to the first ` --`, then
//! `--name value` parameters, checked against the model the prompt selects.

pub mod model;
pub mod params;
pub mod table;
pub mod value;
pub mod weights;

#[cfg(test)]
mod tests;

pub use model::{Model, ModelSet};

use crate::issue::{Code, Issue};

/// One `--name value` parameter as parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// Canonical name (`stylize` for `--s`).
    pub name: String,
    /// The value as written; empty for flags such as `--tile`.
    pub value: String,
    /// Character offset of its `--` in the normalised prompt.
    pub position: usize,
}

/// One part of a multi-prompt; a prompt without `::` is one segment of weight 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub text: String,
    pub weight: f64,
}

/// A parsed prompt: what was found and every problem with it.
#[derive(Debug)]
pub struct Parsed {
    pub model: Model,
    pub parameters: Vec<Parameter>,
    pub segments: Vec<Segment>,
    pub issues: Vec<Issue>,
}

/// Parses normalised `text`, checking parameters against the model it selects (or
/// `default_model`). Issues come in the order found, not sorted.
pub fn parse(text: &str, default_model: Model) -> Parsed {
    let (words, written) = params::split(text);
    let checked = params::check(&written, default_model);
    let mut issues = checked.issues;

    let has_no = checked.parameters.iter().any(|p| p.name == "no");
    let (segments, weight_issues) = weights::segments(words, has_no);
    if segments.is_empty() && weight_issues.is_empty() {
        issues.push(Issue::prompt(
            Code::EmptyPrompt,
            0,
            "the prompt has no text; describe the image before any `--` parameter",
        ));
    }
    issues.extend(weight_issues);

    Parsed {
        model: checked.model,
        parameters: checked.parameters,
        segments,
        issues,
    }
}
