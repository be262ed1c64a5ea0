//! Conversions between the services' WIT types and the gateway's plain records, and from
//! each service's `error` variant to [`ServiceError`].

use super::bindings::promptmesh::jobs::types as jt;
use super::bindings::promptmesh::prompts::types as pt;
use super::bindings::promptmesh::ratings::types as rt;
use super::bindings::promptmesh::templates::types as tt;
use crate::error::ServiceError;
use crate::model::{
    Arm, ArmResult, Comparison, Experiment, ExperimentResults, FieldError, Image, Issue, Job,
    JobStatus, NotificationInfo, Parameter, Prompt, ProviderReport, Rating, ScoreSummary, Segment,
    Template, TemplateRef, TemplateVersion, Tier, Transition, VersionStats,
};

pub fn template(t: tt::Template) -> Template {
    Template {
        id: t.id,
        name: t.name,
        description: t.description,
        tags: t.tags,
        latest_version: t.latest_version,
        labels: t.labels.into_iter().map(|l| (l.name, l.version)).collect(),
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

pub fn version(v: tt::TemplateVersion) -> TemplateVersion {
    TemplateVersion {
        template_id: v.template_id,
        version: v.version,
        body: v.body,
        variables: v.variables,
        created_at: v.created_at,
    }
}

pub fn templates_error(e: tt::Error) -> ServiceError {
    match e {
        tt::Error::NotFound(what) => ServiceError::NotFound(what),
        tt::Error::Invalid(f) => ServiceError::Invalid(FieldError {
            field: f.field,
            code: f.code,
            message: f.message,
        }),
        tt::Error::Conflict(what) => ServiceError::Conflict(what),
        tt::Error::Internal(what) => ServiceError::Internal(what),
    }
}

pub fn prompt(p: pt::Prompt) -> Prompt {
    Prompt {
        text: p.text,
        length: p.length,
        parameters: p
            .parameters
            .into_iter()
            .map(|x| Parameter {
                name: x.name,
                value: x.value,
                position: x.position,
            })
            .collect(),
        segments: p
            .segments
            .into_iter()
            .map(|s| Segment {
                text: s.text,
                weight: s.weight,
            })
            .collect(),
        model: p.model,
    }
}

pub fn prompts_error(e: pt::Error) -> ServiceError {
    match e {
        pt::Error::Rejected(r) => ServiceError::Rejected(
            r.issues
                .into_iter()
                .map(|i| Issue {
                    code: i.code,
                    message: i.message,
                    field: i.field,
                    position: i.position,
                })
                .collect(),
        ),
        pt::Error::Internal(what) => ServiceError::Internal(what),
    }
}

pub fn tier_to_wit(tier: Tier) -> jt::Tier {
    match tier {
        Tier::Free => jt::Tier::Free,
        Tier::Premium => jt::Tier::Premium,
        Tier::Admin => jt::Tier::Admin,
    }
}

fn tier(tier: jt::Tier) -> Tier {
    match tier {
        jt::Tier::Free => Tier::Free,
        jt::Tier::Premium => Tier::Premium,
        jt::Tier::Admin => Tier::Admin,
    }
}

pub fn status_to_wit(status: JobStatus) -> jt::JobStatus {
    match status {
        JobStatus::Queued => jt::JobStatus::Queued,
        JobStatus::Running => jt::JobStatus::Running,
        JobStatus::Storing => jt::JobStatus::Storing,
        JobStatus::Succeeded => jt::JobStatus::Succeeded,
        JobStatus::Failed => jt::JobStatus::Failed,
        JobStatus::Canceled => jt::JobStatus::Canceled,
    }
}

fn status(status: jt::JobStatus) -> JobStatus {
    match status {
        jt::JobStatus::Queued => JobStatus::Queued,
        jt::JobStatus::Running => JobStatus::Running,
        jt::JobStatus::Storing => JobStatus::Storing,
        jt::JobStatus::Succeeded => JobStatus::Succeeded,
        jt::JobStatus::Failed => JobStatus::Failed,
        jt::JobStatus::Canceled => JobStatus::Canceled,
    }
}

pub fn job(j: jt::Job) -> Job {
    Job {
        template: TemplateRef::from_parts(j.template_id.as_deref(), j.template_version),
        id: j.id,
        owner: j.owner,
        tier: tier(j.tier),
        prompt: j.prompt,
        variables: j.variables.into_iter().map(|v| (v.name, v.value)).collect(),
        callback_url: j.callback_url,
        status: status(j.status),
        progress: j.progress,
        attempts: j.attempts,
        failure_reason: j.failure_reason,
        failure_message: j.failure_message,
        provider_task_id: j.provider_task_id,
        image_id: j.image_id,
        created_at: j.created_at,
        updated_at: j.updated_at,
        started_at: j.started_at,
        finished_at: j.finished_at,
    }
}

pub fn transition(t: jt::Transition) -> Transition {
    Transition {
        seq: t.seq,
        status: status(t.status),
        attempt: t.attempt,
        at: t.at,
        reason: t.reason,
        message: t.message,
    }
}

pub fn notification(n: jt::Notification) -> NotificationInfo {
    NotificationInfo {
        id: n.id,
        seq: n.seq,
        state: match n.state {
            jt::NotificationState::Pending => "pending",
            jt::NotificationState::Delivered => "delivered",
            jt::NotificationState::Abandoned => "abandoned",
        },
        attempts: n.attempts,
        next_attempt_at: n.next_attempt_at,
        last_error: n.last_error,
        delivered_at: n.delivered_at,
    }
}

pub fn provider_report(r: ProviderReport) -> jt::ProviderReport {
    jt::ProviderReport {
        task_id: r.task_id,
        status: r.status,
        progress: r.progress,
        image_url: r.image_url,
        fail_reason: r.fail_reason,
    }
}

pub fn image(i: jt::Image) -> Image {
    Image {
        template: TemplateRef::from_parts(i.template_id.as_deref(), i.template_version),
        id: i.id,
        job_id: i.job_id,
        owner: i.owner,
        prompt: i.prompt,
        content_type: i.content_type,
        size: i.size,
        sha256: i.sha256,
        width: i.width,
        height: i.height,
        created_at: i.created_at,
    }
}

pub fn jobs_error(e: jt::Error) -> ServiceError {
    match e {
        jt::Error::NotFound(what) => ServiceError::NotFound(what),
        jt::Error::Invalid(f) => ServiceError::Invalid(FieldError {
            field: f.field,
            code: f.code,
            message: f.message,
        }),
        jt::Error::Conflict(what) => ServiceError::Conflict(what),
        jt::Error::QueueFull(seconds) => ServiceError::QueueFull(seconds),
        jt::Error::Internal(what) => ServiceError::Internal(what),
    }
}

pub fn rating(r: rt::Rating) -> Rating {
    Rating {
        template: TemplateRef::from_parts(r.template_id.as_deref(), r.template_version),
        image_id: r.image_id,
        user: r.user,
        score: r.score,
        feedback: r.feedback,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn scores(s: rt::ScoreSummary) -> ScoreSummary {
    ScoreSummary {
        count: s.count,
        mean: s.mean,
        std_dev: s.std_dev,
        ci_low: s.ci_low,
        ci_high: s.ci_high,
    }
}

pub fn version_stats(v: rt::VersionStats) -> VersionStats {
    VersionStats {
        version: v.version,
        scores: scores(v.scores),
    }
}

pub fn arm_to_wit(a: &Arm) -> rt::Arm {
    rt::Arm {
        version: a.version,
        weight: a.weight,
    }
}

pub fn experiment(e: rt::Experiment) -> Experiment {
    Experiment {
        template_id: e.template_id,
        arms: e
            .arms
            .into_iter()
            .map(|a| Arm {
                version: a.version,
                weight: a.weight,
            })
            .collect(),
        created_at: e.created_at,
    }
}

pub fn results(r: rt::ExperimentResults) -> ExperimentResults {
    ExperimentResults {
        experiment: experiment(r.experiment),
        arms: r
            .arms
            .into_iter()
            .map(|a| ArmResult {
                arm: Arm {
                    version: a.version,
                    weight: a.weight,
                },
                assigned: a.assigned,
                scores: scores(a.scores),
            })
            .collect(),
        comparisons: r
            .comparisons
            .into_iter()
            .map(|c| Comparison {
                version: c.version,
                control_version: c.control_version,
                difference: c.difference,
                ci_low: c.ci_low,
                ci_high: c.ci_high,
                p_value: c.p_value,
                significant: c.significant,
            })
            .collect(),
    }
}

pub fn ratings_error(e: rt::Error) -> ServiceError {
    match e {
        rt::Error::NotFound(what) => ServiceError::NotFound(what),
        rt::Error::Invalid(f) => ServiceError::Invalid(FieldError {
            field: f.field,
            code: f.code,
            message: f.message,
        }),
        rt::Error::Internal(what) => ServiceError::Internal(what),
    }
}
