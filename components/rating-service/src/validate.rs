//! Checks of the caller's input, each returning the cleaned value or the field error.

use crate::error::Error;
use crate::model::{Arm, NewRating};

/// The lowest and highest score.
pub const SCORES: std::ops::RangeInclusive<u8> = 1..=5;
/// Longest feedback, in characters after trimming.
pub const MAX_FEEDBACK_CHARS: usize = 2000;
/// Fewest and most arms of an experiment.
pub const MIN_ARMS: usize = 2;
pub const MAX_ARMS: usize = 10;
/// The lowest and highest arm weight.
pub const WEIGHTS: std::ops::RangeInclusive<u32> = 1..=1000;

/// The rating with its ids checked and its feedback trimmed (empty feedback is none).
pub fn rating(raw: &NewRating) -> Result<NewRating, Error> {
    let image_id = required("image_id", &raw.image_id, "give the id of the rated image")?;
    let user = required("user", &raw.user, "give who rates the image")?;
    score(raw.score)?;
    let template_id = raw
        .template_id
        .as_deref()
        .map(|id| required("template_id", id, "give the image's template or none"))
        .transpose()?;
    template_pair(template_id.is_some(), raw.template_version.is_some())?;
    Ok(NewRating {
        image_id: image_id.to_string(),
        user: user.to_string(),
        score: raw.score,
        feedback: feedback(raw.feedback.as_deref())?,
        template_id: template_id.map(str::to_string),
        template_version: raw.template_version,
    })
}

/// `value` trimmed, refused when that leaves nothing; `hint` says what to give.
pub fn required<'a>(field: &str, value: &'a str, hint: &str) -> Result<&'a str, Error> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::invalid(
            field,
            "missing_field",
            format!("{field} is empty: {hint}"),
        ));
    }
    Ok(value)
}

fn score(score: u8) -> Result<(), Error> {
    if SCORES.contains(&score) {
        return Ok(());
    }
    Err(Error::invalid(
        "score",
        "score_out_of_range",
        format!(
            "score {score} is out of range: give a whole number from {} to {}",
            SCORES.start(),
            SCORES.end()
        ),
    ))
}

/// The trimmed feedback, none when empty, at most 2000 characters.
fn feedback(raw: Option<&str>) -> Result<Option<String>, Error> {
    let Some(feedback) = raw.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    let chars = feedback.chars().count();
    if chars > MAX_FEEDBACK_CHARS {
        return Err(Error::invalid(
            "feedback",
            "feedback_too_long",
            format!(
                "feedback is {chars} characters long: shorten it to at most \
                 {MAX_FEEDBACK_CHARS} characters"
            ),
        ));
    }
    Ok(Some(feedback.to_string()))
}

/// A template version counts only with its template, and a template only with a version.
fn template_pair(has_id: bool, has_version: bool) -> Result<(), Error> {
    match (has_id, has_version) {
        (true, false) => Err(Error::invalid(
            "template_version",
            "missing_field",
            "template_version is missing: give the version of the image's template",
        )),
        (false, true) => Err(Error::invalid(
            "template_id",
            "missing_field",
            "template_id is missing: give the template the version belongs to",
        )),
        _ => Ok(()),
    }
}

/// 2 to 10 arms with distinct versions from 1 and weights from 1 to 1000.
pub fn arms(arms: &[Arm]) -> Result<(), Error> {
    arm_count(arms.len())?;
    for (i, arm) in arms.iter().enumerate() {
        version(i, arm.version)?;
        if let Some(first) = arms[..i].iter().position(|a| a.version == arm.version) {
            return Err(Error::invalid(
                format!("arms[{i}].version"),
                "duplicate_version",
                format!(
                    "version {} is already arm {first}: give each arm a different version",
                    arm.version
                ),
            ));
        }
        weight(i, arm.weight)?;
    }
    Ok(())
}

fn arm_count(count: usize) -> Result<(), Error> {
    if count < MIN_ARMS {
        return Err(Error::invalid(
            "arms",
            "too_few_arms",
            format!(
                "an experiment needs at least {MIN_ARMS} arms, not {count}: \
                 give the control version and a version to compare with it"
            ),
        ));
    }
    if count > MAX_ARMS {
        return Err(Error::invalid(
            "arms",
            "too_many_arms",
            format!("an experiment has at most {MAX_ARMS} arms, not {count}: drop some"),
        ));
    }
    Ok(())
}

fn version(i: usize, version: u32) -> Result<(), Error> {
    if version >= 1 {
        return Ok(());
    }
    Err(Error::invalid(
        format!("arms[{i}].version"),
        "unknown_version",
        "version 0 does not exist: template versions start at 1",
    ))
}

fn weight(i: usize, weight: u32) -> Result<(), Error> {
    if WEIGHTS.contains(&weight) {
        return Ok(());
    }
    Err(Error::invalid(
        format!("arms[{i}].weight"),
        "weight_out_of_range",
        format!(
            "weight {weight} is out of range: give a whole number from {} to {}",
            WEIGHTS.start(),
            WEIGHTS.end()
        ),
    ))
}

#[cfg(test)]
mod tests;
