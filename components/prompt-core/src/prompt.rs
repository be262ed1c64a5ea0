//! The whole check: normalise, measure, look for banned words, parse the Midjourney syntax;
//! and rendering a template into such a checked prompt.

use crate::banned;
use crate::issue::{Code, Issue, Rejection, count};
use crate::midjourney::{self, Model, Parameter, Segment};
use crate::normalize::normalize;
use crate::policy::Policy;
use crate::template;

#[cfg(test)]
mod tests;

/// A valid prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    /// The normalised prompt: exactly what is stored and sent to the provider.
    pub text: String,
    /// Length of `text` in Unicode scalar values.
    pub length: usize,
    pub parameters: Vec<Parameter>,
    pub segments: Vec<Segment>,
    /// The model the parameters were checked against.
    pub model: Model,
}

/// Normalises and validates a hand-written prompt; every problem is reported, sorted by
/// position.
pub fn validate(text: &str, policy: &Policy) -> Result<Prompt, Rejection> {
    let text = normalize(text);
    let length = text.chars().count();

    let mut issues = Vec::new();
    if length > policy.max_length {
        issues.push(too_long(length, policy.max_length));
    }
    issues.extend(banned::find(&text, &policy.banned_words));
    let parsed = midjourney::parse(&text, policy.default_model);
    issues.extend(parsed.issues);

    if !issues.is_empty() {
        issues.sort_by_key(|issue| issue.position);
        return Err(Rejection { text, issues });
    }
    Ok(Prompt {
        text,
        length,
        parameters: parsed.parameters,
        segments: parsed.segments,
        model: parsed.model,
    })
}

/// Renders `body` strictly with `variables`, then normalises and validates the result. A
/// template or variable problem rejects with an empty text: nothing was rendered.
pub fn render(
    body: &str,
    variables: &[(String, String)],
    policy: &Policy,
) -> Result<Prompt, Rejection> {
    let rendered = template::render(body, variables).map_err(|issues| Rejection {
        text: String::new(),
        issues,
    })?;
    validate(&rendered, policy)
}

fn too_long(length: usize, max: usize) -> Issue {
    Issue::prompt(
        Code::PromptTooLong,
        max,
        format!(
            "the prompt is {}, over the limit of {max}; shorten it by {}",
            count(length, "character"),
            count(length - max, "character")
        ),
    )
}
