//! `/api/jobs...`: a key's jobs (every job for admins).

use super::bindings::promptmesh::jobs::queue;
use super::bindings::promptmesh::jobs::types as jt;
use super::{Ctx, convert};
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

/// `GET /api/jobs/{id}`.
pub fn get(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let job = visible(ctx.params.get("id"), &ctx.principal)?;
    Ok(ApiResponse::ok(render::job(&job)))
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
