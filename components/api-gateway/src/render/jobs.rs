//! Jobs, the answer to a generation, image metadata and ratings.

use serde_json::{Map, Value, json};

use super::template_ref;
use crate::model::{Image, Job, NotificationInfo, Rating, Transition};
use crate::rfc3339::{format_ms, format_opt};

/// Where a job is served.
pub fn job_path(id: &str) -> String {
    format!("/api/jobs/{id}")
}

/// Where an image's bytes are served.
pub fn image_url(id: &str) -> String {
    format!("/api/images/{id}")
}

/// The job object.
pub fn job(j: &Job) -> Value {
    let variables: Map<String, Value> = j
        .variables
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    let failure = j.failure_reason.as_ref().map(|reason| {
        json!({ "reason": reason, "message": j.failure_message.clone().unwrap_or_default() })
    });
    let image = j
        .image_id
        .as_ref()
        .map(|id| json!({ "id": id, "url": image_url(id) }));
    json!({
        "id": j.id,
        "status": j.status.as_str(),
        "progress": j.progress,
        "prompt": j.prompt,
        "template": template_ref(j.template.as_ref()),
        "variables": variables,
        "tier": j.tier.as_str(),
        "attempts": j.attempts,
        "failure": failure,
        "image": image,
        "provider_task_id": j.provider_task_id,
        "callback_url": j.callback_url,
        "created_at": format_ms(j.created_at),
        "updated_at": format_ms(j.updated_at),
        "started_at": format_opt(j.started_at),
        "finished_at": format_opt(j.finished_at),
    })
}

/// The job object with its history of state changes and how each notification went.
pub fn job_detail(j: &Job, history: &[Transition], notifications: &[NotificationInfo]) -> Value {
    let mut object = job(j);
    let changes: Vec<Value> = history
        .iter()
        .map(|t| {
            json!({
                "sequence": t.seq,
                "status": t.status.as_str(),
                "attempt": t.attempt,
                "at": format_ms(t.at),
                "reason": t.reason,
                "message": t.message,
            })
        })
        .collect();
    let status_of = |seq: u32| {
        history
            .iter()
            .find(|t| t.seq == seq)
            .map(|t| format!("job.{}", t.status.as_str()))
    };
    let sent: Vec<Value> = notifications
        .iter()
        .map(|n| {
            json!({
                "event_id": n.id,
                "type": status_of(n.seq),
                "sequence": n.seq,
                "state": n.state,
                "attempts": n.attempts,
                "next_attempt_at": (n.state == "pending").then(|| format_ms(n.next_attempt_at)),
                "last_error": n.last_error,
                "delivered_at": format_opt(n.delivered_at),
            })
        })
        .collect();
    object["history"] = Value::Array(changes);
    object["notifications"] = Value::Array(sent);
    object
}

/// The 202 answer to `POST /api/generate`.
pub fn accepted(j: &Job) -> Value {
    json!({
        "id": j.id,
        "status": j.status.as_str(),
        "status_url": job_path(&j.id),
        "prompt": j.prompt,
        "template": template_ref(j.template.as_ref()),
    })
}

/// How an image was rated: count and mean score (`None` without ratings).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatingsSummary {
    pub count: u32,
    pub mean: Option<f64>,
}

impl RatingsSummary {
    /// The summary of `scores`.
    pub fn of(scores: &[u8]) -> RatingsSummary {
        let count = u32::try_from(scores.len()).unwrap_or(u32::MAX);
        let sum: f64 = scores.iter().map(|s| f64::from(*s)).sum();
        RatingsSummary {
            count,
            mean: (count > 0).then(|| sum / f64::from(count)),
        }
    }
}

/// The image metadata object.
pub fn image_meta(i: &Image, ratings: RatingsSummary) -> Value {
    json!({
        "id": i.id,
        "job_id": i.job_id,
        "template": template_ref(i.template.as_ref()),
        "prompt": i.prompt,
        "content_type": i.content_type,
        "size": i.size,
        "sha256": i.sha256,
        "width": i.width,
        "height": i.height,
        "created_at": format_ms(i.created_at),
        "url": image_url(&i.id),
        "ratings": { "count": ratings.count, "mean": ratings.mean },
    })
}

/// The rating object.
pub fn rating(r: &Rating) -> Value {
    json!({
        "image_id": r.image_id,
        "user": r.user,
        "score": r.score,
        "feedback": r.feedback,
        "template": template_ref(r.template.as_ref()),
        "created_at": format_ms(r.created_at),
        "updated_at": format_ms(r.updated_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{JobStatus, TemplateRef, Tier};

    fn sample_job() -> Job {
        Job {
            id: "job_1".into(),
            owner: "key_1".into(),
            tier: Tier::Premium,
            prompt: "a red fox, in snow --ar 1:1".into(),
            template: Some(TemplateRef {
                id: "tpl_1".into(),
                version: 1,
            }),
            variables: vec![("subject".into(), "in snow".into())],
            callback_url: None,
            status: JobStatus::Succeeded,
            progress: 100,
            attempts: 1,
            failure_reason: None,
            failure_message: None,
            provider_task_id: Some("task-9".into()),
            image_id: Some("img_1".into()),
            created_at: 1_000,
            updated_at: 2_000,
            started_at: Some(1_500),
            finished_at: Some(2_000),
        }
    }

    #[test]
    fn jobs_render_every_field() {
        assert_eq!(
            job(&sample_job()),
            json!({
                "id": "job_1",
                "status": "succeeded",
                "progress": 100,
                "prompt": "a red fox, in snow --ar 1:1",
                "template": { "id": "tpl_1", "version": 1 },
                "variables": { "subject": "in snow" },
                "tier": "premium",
                "attempts": 1,
                "failure": null,
                "image": { "id": "img_1", "url": "/api/images/img_1" },
                "provider_task_id": "task-9",
                "callback_url": null,
                "created_at": "1970-01-01T00:00:01.000Z",
                "updated_at": "1970-01-01T00:00:02.000Z",
                "started_at": "1970-01-01T00:00:01.500Z",
                "finished_at": "1970-01-01T00:00:02.000Z",
            })
        );
    }

    #[test]
    fn failed_jobs_carry_reason_and_message() {
        let mut failed = sample_job();
        failed.status = JobStatus::Failed;
        failed.failure_reason = Some("timeout".into());
        failed.failure_message = Some("no answer after 300 s".into());
        failed.image_id = None;
        failed.started_at = None;
        let value = job(&failed);
        assert_eq!(
            value["failure"],
            json!({ "reason": "timeout", "message": "no answer after 300 s" })
        );
        assert_eq!(value["image"], Value::Null);
        assert_eq!(value["started_at"], Value::Null);
    }

    #[test]
    fn accepted_jobs_point_at_their_status() {
        let mut queued = sample_job();
        queued.status = JobStatus::Queued;
        assert_eq!(
            accepted(&queued),
            json!({
                "id": "job_1",
                "status": "queued",
                "status_url": "/api/jobs/job_1",
                "prompt": "a red fox, in snow --ar 1:1",
                "template": { "id": "tpl_1", "version": 1 },
            })
        );
    }

    #[test]
    fn ratings_summaries_average_the_scores() {
        assert_eq!(
            RatingsSummary::of(&[]),
            RatingsSummary {
                count: 0,
                mean: None
            }
        );
        assert_eq!(
            RatingsSummary::of(&[2, 5]),
            RatingsSummary {
                count: 2,
                mean: Some(3.5)
            }
        );
    }

    #[test]
    fn image_meta_links_the_bytes_and_sums_up_ratings() {
        let image = Image {
            id: "img_1".into(),
            job_id: "job_1".into(),
            owner: "key_1".into(),
            template: None,
            prompt: "a lighthouse".into(),
            content_type: "image/png".into(),
            size: 1234,
            sha256: "ab".into(),
            width: 64,
            height: 64,
            created_at: 0,
        };
        assert_eq!(
            image_meta(&image, RatingsSummary::of(&[])),
            json!({
                "id": "img_1",
                "job_id": "job_1",
                "template": null,
                "prompt": "a lighthouse",
                "content_type": "image/png",
                "size": 1234,
                "sha256": "ab",
                "width": 64,
                "height": 64,
                "created_at": "1970-01-01T00:00:00.000Z",
                "url": "/api/images/img_1",
                "ratings": { "count": 0, "mean": null },
            })
        );
    }

    #[test]
    fn ratings_render_the_user_and_feedback() {
        let r = Rating {
            image_id: "img_1".into(),
            user: "key_1".into(),
            score: 5,
            feedback: Some("lovely".into()),
            template: None,
            created_at: 0,
            updated_at: 1,
        };
        assert_eq!(
            rating(&r),
            json!({
                "image_id": "img_1",
                "user": "key_1",
                "score": 5,
                "feedback": "lovely",
                "template": null,
                "created_at": "1970-01-01T00:00:00.000Z",
                "updated_at": "1970-01-01T00:00:00.001Z",
            })
        );
    }
}
