//! Checks of the caller's input, each returning the cleaned value or the field error.

use crate::error::Error;
use crate::syntax;

/// Longest name, in characters after trimming.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest description, in characters after trimming.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Most distinct tags on a template.
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 40;
/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 10_000;
/// The label that always points at the highest version.
pub const LATEST: &str = "latest";
/// Longest label name, in characters.
pub const MAX_LABEL_CHARS: usize = 63;
/// Largest search page.
pub const MAX_LIMIT: u32 = 100;

/// The trimmed name, 1 to 100 characters.
pub fn name(raw: &str) -> Result<String, Error> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(Error::invalid(
            "name",
            "invalid_name",
            format!("name is empty: give the template a name of 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    if chars > MAX_NAME_CHARS {
        return Err(Error::invalid(
            "name",
            "invalid_name",
            format!(
                "name is {chars} characters long: shorten it to at most {MAX_NAME_CHARS} characters"
            ),
        ));
    }
    Ok(name.to_string())
}

/// The key names are unique by: the lower-cased name.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// The trimmed description, at most 1000 characters.
pub fn description(raw: &str) -> Result<String, Error> {
    let description = raw.trim();
    let chars = description.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        return Err(Error::invalid(
            "description",
            "invalid_description",
            format!(
                "description is {chars} characters long: shorten it to at most \
                 {MAX_DESCRIPTION_CHARS} characters"
            ),
        ));
    }
    Ok(description.to_string())
}

/// The tags lower-cased and trimmed, sorted, without repeats; at most 20.
pub fn tags(raw: &[String]) -> Result<Vec<String>, Error> {
    let mut tags = raw
        .iter()
        .enumerate()
        .map(|(i, tag)| self::tag(i, tag))
        .collect::<Result<Vec<_>, _>>()?;
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_TAGS {
        return Err(Error::invalid(
            "tags",
            "too_many_tags",
            format!("{} distinct tags given: use at most {MAX_TAGS}", tags.len()),
        ));
    }
    Ok(tags)
}

/// Tag number `index`, lower-cased and trimmed: 1 to 40 characters of `[a-z0-9-]`.
fn tag(index: usize, raw: &str) -> Result<String, Error> {
    let tag = normalize_tag(raw);
    let chars = tag.chars().count();
    let problem = if chars == 0 {
        format!("tag {index} is empty: remove it or write 1 to {MAX_TAG_CHARS} characters")
    } else if chars > MAX_TAG_CHARS {
        format!("tag `{tag}` is {chars} characters long: shorten it to at most {MAX_TAG_CHARS}")
    } else if let Some(c) = tag.chars().find(|c| !is_tag_char(*c)) {
        format!("tag `{raw}` contains `{c}`: use only the letters a-z, digits 0-9 and `-`")
    } else {
        return Ok(tag);
    };
    Err(Error::invalid(
        format!("tags[{index}]"),
        "invalid_tag",
        problem,
    ))
}

/// A tag as stored and compared: trimmed and lower-cased.
pub fn normalize_tag(raw: &str) -> String {
    raw.trim().to_lowercase()
}

fn is_tag_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

/// The body's placeholder names, after checking its length and syntax.
pub fn body(body: &str) -> Result<Vec<String>, Error> {
    let chars = body.chars().count();
    if body.trim().is_empty() {
        return Err(Error::invalid(
            "body",
            "invalid_body",
            "body is empty: write the prompt text, with `{{variable}}` placeholders where \
             values go",
        ));
    }
    if chars > MAX_BODY_CHARS {
        return Err(Error::invalid(
            "body",
            "invalid_body",
            format!(
                "body is {chars} characters long: shorten it to at most {MAX_BODY_CHARS} characters"
            ),
        ));
    }
    syntax::placeholders(body).map_err(|issues| {
        let message = issues.first().map_or_else(
            || "the body is not a valid template".to_string(),
            |i| i.message.clone(),
        );
        Error::invalid("body", "invalid_template", message)
    })
}

/// A label that may be set or deleted: not `latest`, and `[a-z0-9][a-z0-9_-]{0,62}`.
pub fn label(name: &str) -> Result<(), Error> {
    if name == LATEST {
        return Err(Error::invalid(
            "label",
            "label_reserved",
            "label `latest` always points at the highest version and cannot be set or \
             deleted: choose another label name",
        ));
    }
    if !is_label_name(name) {
        return Err(Error::invalid(
            "label",
            "invalid_label",
            format!(
                "label `{name}` is invalid: use 1 to {MAX_LABEL_CHARS} characters of a-z, 0-9, \
                 `_` and `-`, starting with a letter or digit"
            ),
        ));
    }
    Ok(())
}

fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && name.chars().count() <= MAX_LABEL_CHARS
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A page size of 1 to 100.
pub fn limit(limit: u32) -> Result<u32, Error> {
    if (1..=MAX_LIMIT).contains(&limit) {
        return Ok(limit);
    }
    Err(Error::invalid(
        "limit",
        "invalid_limit",
        format!("limit {limit} is out of range: ask for 1 to {MAX_LIMIT} templates per page"),
    ))
}

#[cfg(test)]
mod tests;
