//! `/api/jobs...`: a key's jobs (every job for admins).

use super::bindings::promptmesh::jobs::queue;
use super::bindings::promptmesh::jobs::types as jt;
use super::{Ctx, convert, platform};
use crate::error::{ApiError, Subject};
use crate::model::{Job, Principal};
use crate::response::ApiResponse;
use crate::{query, render, requests};

/// The job `id` if `principal` may see it; another key's job is 404 like a missing one.
fn visible(id: &str, principal: &Principal) -> Result<Job, ApiError> {
    let job = queue::get(id)
        .map(convert::job)
        .map_err(|e| ApiError::from_service(convert::jobs_error(e), Subject::Job(id)))?;
    if principal.can_see(&job.owner) {
        Ok(job)
    } else {
        Err(ApiError::not_found(Subject::Job(id)))
    }
}

/// `GET /api/jobs`: newest first.
pub fn list(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let q = query::jobs(&ctx.query)?;
    let page = queue::list_jobs(&jt::JobFilter {
        status: q.status.map(convert::status_to_wit),
        failure_reason: q.reason,
        owner: ctx.principal.owner_filter(),
        limit: q.page.limit,
        cursor: q.page.cursor,
    })
    .map_err(|e| ApiError::from_service(convert::jobs_error(e), Subject::Listing))?;
    let items = page
        .items
        .into_iter()
        .map(|j| render::job(&convert::job(j)))
        .collect();
    Ok(ApiResponse::ok(render::page(items, page.next_cursor)))
}

/// `GET /api/jobs/{id}`: the job, its history and its notifications.
pub fn get(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.get("id");
    let job = visible(id, &ctx.principal)?;
    let failed = |e| ApiError::from_service(convert::jobs_error(e), Subject::Job(id));
    let history: Vec<_> = queue::history(id)
        .map_err(failed)?
        .into_iter()
        .map(convert::transition)
        .collect();
    let notifications: Vec<_> = queue::notifications(id)
        .map_err(failed)?
        .into_iter()
        .map(convert::notification)
        .collect();
    Ok(ApiResponse::ok(render::job_detail(
        &job,
        &history,
        &notifications,
    )))
}

/// `POST /api/jobs/{id}/requeue` (admin): a failed job goes back to the queue with fresh
/// attempts; any other state is 409 `conflict`.
pub fn requeue(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    requests::no_fields(&ctx.body)?;
    let id = ctx.params.get("id");
    let job = queue::requeue(id)
        .map_err(|e| ApiError::from_service(convert::jobs_error(e), Subject::Job(id)))?;
    platform::wake_worker(&ctx.config, id);
    Ok(ApiResponse::ok(render::job(&convert::job(job))))
}

/// `POST /api/jobs/{id}/cancel`: a final job is 409 `conflict`.
pub fn cancel(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    requests::no_fields(&ctx.body)?;
    let id = ctx.params.get("id");
    visible(id, &ctx.principal)?;
    let job = queue::cancel(id)
        .map_err(|e| ApiError::from_service(convert::jobs_error(e), Subject::Job(id)))?;
    Ok(ApiResponse::ok(render::job(&convert::job(job))))
}
