//! The typed request bodies of each endpoint, parsed strictly from JSON: 400 for unknown
//! fields and wrong types, 422 for missing fields and values the gateway itself refuses.
//! Rules that belong to a service (a template's syntax, a tag's form) stay with it.

use crate::body::{Object, require};
use crate::error::ApiError;
use crate::model::{Arm, Tier};

/// The longest key name, in characters.
pub const MAX_KEY_NAME_CHARS: usize = 100;
/// The longest callback URL, in bytes.
pub const MAX_CALLBACK_URL_BYTES: usize = 2048;
/// An experiment arm's weight when the request leaves it out.
pub const DEFAULT_ARM_WEIGHT: u32 = 1;

/// `POST /api/keys`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewKey {
    pub name: String,
    pub tier: Tier,
}

/// `POST /api/templates`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTemplate {
    pub name: String,
    pub description: String,
    pub body: String,
    pub tags: Vec<String>,
}

/// `PUT /api/templates/{id}`: a new version, and the metadata to replace.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateUpdate {
    pub body: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// Which version of a template a prompt uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// The caller's experiment arm when the template has an experiment, else `latest`.
    Auto,
    Number(u32),
    Label(String),
}

/// Where a prompt comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptSource {
    /// A template version rendered with `variables` (`(name, value)` pairs).
    Template {
        id: String,
        selector: Selector,
        variables: Vec<(String, String)>,
    },
    /// A prompt written by hand.
    Text(String),
}

/// `POST /api/generate`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    pub source: PromptSource,
    pub callback_url: Option<String>,
}

/// `POST /api/images/{id}/ratings`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRating {
    pub score: u8,
    pub feedback: Option<String>,
}

/// `POST /api/keys`: `name` 1 to 100 characters, `tier` (default `free`).
pub fn new_key(bytes: &[u8]) -> Result<NewKey, ApiError> {
    let mut body = Object::parse(bytes, &["name", "tier"])?;
    let name = body.string("name")?;
    let tier = body.string("tier")?;
    let name = require(name, "name", "give the key's name, 1 to 100 characters")?;
    let name = name.trim().to_string();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_KEY_NAME_CHARS {
        return Err(ApiError::invalid(
            "name",
            "invalid_name",
            format!("the name has {chars} characters; give 1 to {MAX_KEY_NAME_CHARS}"),
        ));
    }
    let tier = match tier {
        None => Tier::Free,
        Some(tier) => Tier::parse(&tier).ok_or_else(|| {
            ApiError::invalid(
                "tier",
                "invalid_tier",
                format!("tier `{tier}` does not exist; use `free`, `premium` or `admin`"),
            )
        })?,
    };
    Ok(NewKey { name, tier })
}

/// `POST /api/templates`.
pub fn new_template(bytes: &[u8]) -> Result<NewTemplate, ApiError> {
    let mut body = Object::parse(bytes, &["name", "description", "body", "tags"])?;
    let name = body.string("name")?;
    let description = body.string("description")?;
    let template = body.string("body")?;
    let tags = body.string_list("tags")?;
    Ok(NewTemplate {
        name: require(name, "name", "give the template a name")?,
        description: description.unwrap_or_default(),
        body: require(
            template,
            "body",
            "give the template body, e.g. \"a {{subject}}\"",
        )?,
        tags: tags.unwrap_or_default(),
    })
}

/// `PUT /api/templates/{id}`.
pub fn template_update(bytes: &[u8]) -> Result<TemplateUpdate, ApiError> {
    let mut body = Object::parse(bytes, &["body", "name", "description", "tags"])?;
    let template = body.string("body")?;
    let name = body.string("name")?;
    let description = body.string("description")?;
    let tags = body.string_list("tags")?;
    Ok(TemplateUpdate {
        body: require(template, "body", "give the body of the new version")?,
        name,
        description,
        tags,
    })
}

/// `PUT /api/templates/{id}/labels/{label}`: the version to point at.
pub fn label_target(bytes: &[u8]) -> Result<u32, ApiError> {
    let mut body = Object::parse(bytes, &["version"])?;
    let version = body.u32("version")?;
    require(
        version,
        "version",
        "give the version number the label points at",
    )
}

/// `POST /api/prompts`.
pub fn prompt_request(bytes: &[u8]) -> Result<PromptSource, ApiError> {
    let mut body = Object::parse(bytes, PROMPT_FIELDS)?;
    prompt_source(&mut body)
}

/// `POST /api/generate`: a prompt request plus `callback_url`.
pub fn generate_request(bytes: &[u8]) -> Result<GenerateRequest, ApiError> {
    let mut allowed = PROMPT_FIELDS.to_vec();
    allowed.push("callback_url");
    let mut body = Object::parse(bytes, &allowed)?;
    let callback_url = body.string("callback_url")?;
    let source = prompt_source(&mut body)?;
    if let Some(url) = &callback_url {
        check_callback_url(url)?;
    }
    Ok(GenerateRequest {
        source,
        callback_url,
    })
}

const PROMPT_FIELDS: &[&str] = &["template_id", "version", "label", "variables", "prompt"];

fn prompt_source(body: &mut Object) -> Result<PromptSource, ApiError> {
    let template_id = body.string("template_id")?;
    let version = body.u32("version")?;
    let label = body.string("label")?;
    let variables = body.string_map("variables")?;
    let prompt = body.string("prompt")?;
    match (template_id, prompt) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "prompt",
            "invalid_field",
            "give either `template_id` (with `variables`) or `prompt`, not both",
        )),
        (None, None) => Err(ApiError::missing_field(
            "template_id",
            "give `template_id` (a template rendered with `variables`) or `prompt` (a prompt \
             written out)",
        )),
        (None, Some(text)) => {
            let extra = [
                ("version", version.is_some()),
                ("label", label.is_some()),
                ("variables", variables.is_some()),
            ];
            match extra.into_iter().find(|(_, given)| *given) {
                Some((field, _)) => Err(ApiError::invalid(
                    field,
                    "invalid_field",
                    format!("`{field}` applies to `template_id` only; leave it out with `prompt`"),
                )),
                None => Ok(PromptSource::Text(text)),
            }
        }
        (Some(id), None) => Ok(PromptSource::Template {
            id,
            selector: selector(version, label)?,
            variables: variables.unwrap_or_default(),
        }),
    }
}

fn selector(version: Option<u32>, label: Option<String>) -> Result<Selector, ApiError> {
    match (version, label) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "label",
            "invalid_field",
            "give `version` or `label`, not both",
        )),
        (Some(n), None) => Ok(Selector::Number(n)),
        (None, Some(label)) if label.is_empty() => Err(ApiError::invalid(
            "label",
            "invalid_field",
            "`label` is empty; give a label name such as `production`",
        )),
        (None, Some(label)) => Ok(Selector::Label(label)),
        (None, None) => Ok(Selector::Auto),
    }
}

/// 422 `invalid_callback_url` unless `url` is an absolute `http` or `https` URL with a host.
pub fn check_callback_url(url: &str) -> Result<(), ApiError> {
    let invalid = |why: &str| {
        ApiError::invalid(
            "callback_url",
            "invalid_callback_url",
            format!("callback URL `{url}` {why}; give an absolute http:// or https:// URL"),
        )
    };
    if url.len() > MAX_CALLBACK_URL_BYTES {
        return Err(invalid(&format!(
            "is {} bytes, over {MAX_CALLBACK_URL_BYTES}",
            url.len()
        )));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("contains white space or control characters"));
    }
    let lower = url.to_ascii_lowercase();
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
        .ok_or_else(|| invalid("has a scheme other than http or https"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(invalid("has no host"));
    }
    Ok(())
}

/// `POST /api/images/{id}/ratings`: `score` 1 to 5, optional `feedback`.
pub fn new_rating(bytes: &[u8]) -> Result<NewRating, ApiError> {
    let mut body = Object::parse(bytes, &["score", "feedback"])?;
    let score = body.integer("score")?;
    let feedback = body.string("feedback")?;
    let score = require(score, "score", "give a score from 1 to 5")?;
    let score = u8::try_from(score)
        .ok()
        .filter(|s| (1..=5).contains(s))
        .ok_or_else(|| {
            ApiError::invalid(
                "score",
                "score_out_of_range",
                format!("score {score} is out of range; give a whole number from 1 to 5"),
            )
        })?;
    Ok(NewRating { score, feedback })
}

/// `PUT /api/experiments/{template_id}`: the arms (weight defaults to 1).
pub fn experiment_arms(bytes: &[u8]) -> Result<Vec<Arm>, ApiError> {
    let mut body = Object::parse(bytes, &["arms"])?;
    let arms = body.objects("arms", &["version", "weight"])?;
    let arms = require(
        arms,
        "arms",
        "give the arms, e.g. [{\"version\": 1, \"weight\": 1}]",
    )?;
    arms.into_iter()
        .map(|mut arm| {
            let version = arm.u32("version")?;
            let weight = arm.u32("weight")?;
            let field = arm.path("version");
            Ok(Arm {
                version: require(version, &field, "give the template version of this arm")?,
                weight: weight.unwrap_or(DEFAULT_ARM_WEIGHT),
            })
        })
        .collect()
}

/// 422 `unknown_version` (field `arms[i].version`) for the first arm whose version is not
/// one of the template's `existing` versions.
pub fn check_arm_versions(arms: &[Arm], existing: &[u32]) -> Result<(), ApiError> {
    match arms.iter().position(|a| !existing.contains(&a.version)) {
        None => Ok(()),
        Some(i) => Err(ApiError::invalid(
            &format!("arms[{i}].version"),
            "unknown_version",
            format!(
                "the template has no version {}; its versions are 1 to {}",
                arms[i].version,
                existing.iter().max().copied().unwrap_or(0)
            ),
        )),
    }
}

/// A body that must carry nothing: empty or `{}` (`POST /api/jobs/{id}/cancel`).
pub fn no_fields(bytes: &[u8]) -> Result<(), ApiError> {
    Object::parse(bytes, &[]).map(|_| ())
}

#[cfg(test)]
mod tests;
