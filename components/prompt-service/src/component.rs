//! The Wasm export of `promptmesh:prompts/render@0.1.0`: reads the policy from Spin
//! variables, calls `promptmesh-prompt`, and converts its results into the WIT types.

wit_bindgen::generate!({
    world: "prompt-service",
    path: "../../wit/services",
    generate_all,
});

use exports::promptmesh::prompts::render::Guest;
use promptmesh::prompts::types::{Error, Issue, Parameter, Prompt, Rejection, Segment};
use promptmesh_prompt::{Policy, PolicyVariables};
use spin_sdk::variables;

struct PromptService;

impl Guest for PromptService {
    fn render(body: String, variables: Vec<(String, String)>) -> Result<Prompt, Error> {
        let policy = policy()?;
        promptmesh_prompt::render(&body, &variables, &policy)
            .map(prompt)
            .map_err(rejected)
    }

    fn validate(text: String) -> Result<Prompt, Error> {
        let policy = policy()?;
        promptmesh_prompt::validate(&text, &policy)
            .map(prompt)
            .map_err(rejected)
    }
}

export!(PromptService);

/// The policy from the Spin variables; undefined ones take their defaults, a value that
/// does not parse is an `internal` error naming the variable, its value and the form.
fn policy() -> Result<Policy, Error> {
    let vars = PolicyVariables {
        max_prompt_length: variable("max_prompt_length")?,
        banned_words: variable("banned_words")?,
        default_model: variable("default_model")?,
    };
    Policy::try_from(&vars).map_err(|e| Error::Internal(e.to_string()))
}

/// A variable's value, or `None` when it is not defined for this component.
fn variable(name: &str) -> Result<Option<String>, Error> {
    match variables::get(name) {
        Ok(value) => Ok(Some(value)),
        Err(variables::Error::Undefined(_)) => Ok(None),
        Err(e) => Err(Error::Internal(format!(
            "reading variable `{name}` failed: {e:?}"
        ))),
    }
}

fn prompt(p: promptmesh_prompt::Prompt) -> Prompt {
    Prompt {
        length: u32_of(p.length),
        text: p.text,
        parameters: p.parameters.into_iter().map(parameter).collect(),
        segments: p.segments.into_iter().map(segment).collect(),
        model: p.model.name().to_owned(),
    }
}

fn parameter(p: promptmesh_prompt::Parameter) -> Parameter {
    Parameter {
        name: p.name,
        value: p.value,
        position: u32_of(p.position),
    }
}

fn segment(s: promptmesh_prompt::Segment) -> Segment {
    Segment {
        text: s.text,
        weight: s.weight,
    }
}

fn rejected(r: promptmesh_prompt::Rejection) -> Error {
    Error::Rejected(Rejection {
        text: r.text,
        issues: r.issues.into_iter().map(issue).collect(),
    })
}

fn issue(i: promptmesh_prompt::Issue) -> Issue {
    Issue {
        code: i.code.as_str().to_owned(),
        message: i.message,
        field: i.field,
        position: u32_of(i.position),
    }
}

/// Character counts and offsets fit in `u32` for any request the gateway accepts; a larger
/// one saturates rather than wrapping.
fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
