//! Reading jobs and images out of result rows.

use promptmesh_guest::db::Row;

use crate::error::{Error, Result};
use crate::model::{
    Image, Job, JobStatus, Notification, NotificationState, Tier, Transition, Variable,
};

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
        lease_owner: row.get("lease_owner")?,
        lease_expires_at: row.get("lease_expires_at")?,
        run_started_at: row.get("run_started_at")?,
        not_before: row.get("not_before")?,
        queued_at: row.get("queued_at")?,
        provider_status: row.get("provider_status")?,
        provider_image_url: row.get("provider_image_url")?,
        provider_fail_reason: row.get("provider_fail_reason")?,
        idempotency_key: row.get("idempotency_key")?,
    })
}

/// A `job_transitions` row.
pub fn transition(row: Row<'_>) -> Result<Transition> {
    Ok(Transition {
        seq: row.get("seq")?,
        status: named(row, "status", JobStatus::parse)?,
        attempt: row.get("attempt")?,
        at: row.get("at")?,
        reason: row.get("reason")?,
        message: row.get("message")?,
    })
}

/// A `job_notifications` row.
pub fn notification(row: Row<'_>) -> Result<Notification> {
    Ok(Notification {
        id: row.get("id")?,
        job_id: row.get("job_id")?,
        seq: row.get("seq")?,
        url: row.get("url")?,
        body: row.get("body")?,
        state: named(row, "state", NotificationState::parse)?,
        attempts: row.get("attempts")?,
        next_attempt_at: row.get("next_attempt_at")?,
        last_error: row.get("last_error")?,
        delivered_at: row.get("delivered_at")?,
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
