//! Reading jobs and images out of result rows.

use promptmesh_guest::db::Row;

use crate::error::{Error, Result};
use crate::model::{Image, Job, JobStatus, Tier, Variable};

/// The metadata columns of `job_images` (everything but the bytes, which live apart).
pub const IMAGE_COLUMNS: &str = "id, job_id, owner, template_id, template_version, prompt, \
     content_type, size, sha256, width, height, created_at";

/// A `job_jobs` row.
pub fn job(row: Row<'_>) -> Result<Job> {
    Ok(Job {
        id: row.get("id")?,
        owner: row.get("owner")?,
        tier: named(row, "tier", Tier::parse)?,
        priority: row.get("priority")?,
        prompt: row.get("prompt")?,
        template_id: row.get("template_id")?,
        template_version: row.get("template_version")?,
        variables: variables(&row.get::<String>("variables")?)?,
        callback_url: row.get("callback_url")?,
        status: named(row, "status", JobStatus::parse)?,
        progress: row.get("progress")?,
        attempts: row.get("attempts")?,
        failure_reason: row.get("failure_reason")?,
        failure_message: row.get("failure_message")?,
        provider_task_id: row.get("provider_task_id")?,
        image_id: row.get("image_id")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        started_at: row.get("started_at")?,
        finished_at: row.get("finished_at")?,
    })
}

/// A `job_images` row with [`IMAGE_COLUMNS`].
pub fn image(row: Row<'_>) -> Result<Image> {
    Ok(Image {
        id: row.get("id")?,
        job_id: row.get("job_id")?,
        owner: row.get("owner")?,
        template_id: row.get("template_id")?,
        template_version: row.get("template_version")?,
        prompt: row.get("prompt")?,
        content_type: row.get("content_type")?,
        size: row.get("size")?,
        sha256: row.get("sha256")?,
        width: row.get("width")?,
        height: row.get("height")?,
        created_at: row.get("created_at")?,
    })
}

/// Variables as stored: a JSON array of `{"name", "value"}` objects.
pub fn variables_json(variables: &[Variable]) -> Result<String> {
    serde_json::to_string(variables)
        .map_err(|e| Error::Internal(format!("variables do not serialise to JSON: {e}")))
}

fn variables(json: &str) -> Result<Vec<Variable>> {
    serde_json::from_str(json).map_err(|e| {
        Error::Internal(format!(
            "column `variables` holds {json:?}, not a JSON list of name/value objects: {e}"
        ))
    })
}

/// A text column holding one of an enum's names.
fn named<T>(row: Row<'_>, column: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    let name: String = row.get(column)?;
    parse(&name)
        .ok_or_else(|| Error::Internal(format!("column `{column}` holds unknown value {name:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_round_trip_through_json_in_order() {
        let vars = vec![
            Variable {
                name: "subject".into(),
                value: "Tom & Jerry \"classic\" <3".into(),
            },
            Variable {
                name: "style".into(),
                value: "猫猫 🐱".into(),
            },
        ];
        let json = variables_json(&vars).expect("serialises");
        assert_eq!(
            json,
            r#"[{"name":"subject","value":"Tom & Jerry \"classic\" <3"},{"name":"style","value":"猫猫 🐱"}]"#
        );
        assert_eq!(variables(&json), Ok(vars));
    }

    #[test]
    fn corrupt_variables_are_internal_errors() {
        assert!(matches!(variables("{"), Err(Error::Internal(m)) if m.contains("`variables`")));
    }
}
