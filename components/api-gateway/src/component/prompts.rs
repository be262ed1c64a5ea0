//! `/api/prompts` and `/api/generate`: resolve the template version (explicit, label, the
//! caller's experiment arm, or latest), render and validate the prompt, and for a
//! generation store the job and wake a worker.

use super::bindings::promptmesh::jobs::queue;
use super::bindings::promptmesh::jobs::types as jt;
use super::bindings::promptmesh::prompts::render as prompt_service;
use super::bindings::promptmesh::ratings::experiments;
use super::bindings::promptmesh::templates::store;
use super::bindings::promptmesh::templates::types as tt;
use super::templates::failed_within;
use super::{Ctx, convert, platform};
use crate::error::{ApiError, ServiceError, Subject};
use crate::hooks;
use crate::model::{Job, Principal, Prompt, TemplateRef};
use crate::render;
use crate::requests::{self, PromptSource, Selector};
use crate::response::ApiResponse;

/// `POST /api/prompts`: the rendered, validated prompt (nothing is stored).
pub fn preview(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let source = requests::prompt_request(&ctx.body)?;
    let (prompt, used) = build(&source, &ctx.principal)?;
    Ok(ApiResponse::ok(render::prompt(&prompt, used.as_ref())))
}

/// `POST /api/generate`: 202 with the queued job; an invalid prompt stores nothing. With an
/// `Idempotency-Key` used before by the same key, the answer is the job that request made
/// (marked `Idempotent-Replayed: true`), or 409 when the body differs.
pub fn generate(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let request = requests::generate_request(&ctx.body)?;
    let request_hash = hooks::request_hash(&ctx.body);
    let owner = &ctx.principal.key_id;
    if let Some(key) = &ctx.idempotency_key {
        let earlier = queue::replay(owner, key, &request_hash).map_err(idempotency_failed)?;
        if let Some(job) = earlier {
            return Ok(accepted(&convert::job(job), true));
        }
    }
    let (prompt, used) = build(&request.source, &ctx.principal)?;
    let variables = match &request.source {
        PromptSource::Template { variables, .. } => variables
            .iter()
            .map(|(name, value)| jt::Variable {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        PromptSource::Text(_) => Vec::new(),
    };
    let submitted = queue::submit(&jt::NewJob {
        owner: owner.clone(),
        tier: convert::tier_to_wit(ctx.principal.tier),
        prompt: prompt.text,
        template_id: used.as_ref().map(|t| t.id.clone()),
        template_version: used.as_ref().map(|t| t.version),
        variables,
        callback_url: request.callback_url,
        idempotency_key: ctx.idempotency_key.clone(),
        request_hash: ctx.idempotency_key.as_ref().map(|_| request_hash),
    })
    .map_err(idempotency_failed)?;
    let job = convert::job(submitted.job);
    if !submitted.replayed {
        platform::wake_worker(&ctx.config, &job.id);
    }
    Ok(accepted(&job, submitted.replayed))
}

/// The 202 of a generation, with where to follow the job.
fn accepted(job: &Job, replayed: bool) -> ApiResponse {
    let response = ApiResponse::json(202, render::accepted(job))
        .with_header("location", render::job_path(&job.id));
    if replayed {
        response.with_header(hooks::REPLAYED_HEADER, "true")
    } else {
        response
    }
}

/// A queue error of a submission; a conflict there can only be a reused idempotency key.
fn idempotency_failed(error: jt::Error) -> ApiError {
    match convert::jobs_error(error) {
        ServiceError::Conflict(message) => hooks::key_reused(message),
        other => ApiError::from_service(other, Subject::Other),
    }
}

/// The prompt of `source`, and the template version it came from.
fn build(
    source: &PromptSource,
    principal: &Principal,
) -> Result<(Prompt, Option<TemplateRef>), ApiError> {
    let rejected = |e| ApiError::from_service(convert::prompts_error(e), Subject::Other);
    match source {
        PromptSource::Text(text) => {
            let prompt = prompt_service::validate(text).map_err(rejected)?;
            Ok((convert::prompt(prompt), None))
        }
        PromptSource::Template {
            id,
            selector,
            variables,
        } => {
            let version = resolve(id, selector, principal)?;
            let prompt = prompt_service::render(&version.body, variables).map_err(rejected)?;
            let used = TemplateRef {
                id: id.clone(),
                version: version.version,
            };
            Ok((convert::prompt(prompt), Some(used)))
        }
    }
}

/// The template version `selector` names; `Auto` is the caller's arm of the template's
/// experiment, or the latest version when it has none.
fn resolve(
    id: &str,
    selector: &Selector,
    principal: &Principal,
) -> Result<tt::TemplateVersion, ApiError> {
    let (wit_selector, subject) = match selector {
        Selector::Number(n) => (tt::VersionSelector::Number(*n), Subject::Version(id, *n)),
        Selector::Label(label) => (
            tt::VersionSelector::Label(label.clone()),
            Subject::Label(id, label),
        ),
        Selector::Auto => match assigned_arm(id, principal)? {
            Some(n) => (tt::VersionSelector::Number(n), Subject::Version(id, n)),
            None => (tt::VersionSelector::Latest, Subject::Template(id)),
        },
    };
    store::resolve(id, &wit_selector).map_err(|e| failed_within(e, id, subject))
}

/// The version the template's experiment gives this key, if it has an experiment.
fn assigned_arm(id: &str, principal: &Principal) -> Result<Option<u32>, ApiError> {
    match experiments::assign(id, &principal.key_id).map_err(convert::ratings_error) {
        Ok(arm) => Ok(arm),
        // No experiment (however the service says it) means the latest version.
        Err(ServiceError::NotFound(_)) => Ok(None),
        Err(other) => Err(ApiError::from_service(other, Subject::Experiment(id))),
    }
}
