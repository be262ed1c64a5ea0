//! `/api/experiments/{template_id}`: A/B experiments between versions of a template.

use super::bindings::promptmesh::ratings::experiments;
use super::bindings::promptmesh::templates::store;
use super::templates::failed;
use super::{Ctx, convert};
use crate::error::{ApiError, Subject};
use crate::response::ApiResponse;
use crate::{render, requests};

/// `PUT /api/experiments/{template_id}` (admin): starts or replaces the experiment; every
/// arm's version must exist in the template.
pub fn set(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.get("template_id");
    let arms = requests::experiment_arms(&ctx.body)?;
    let existing: Vec<u32> = store::versions(id)
        .map_err(|e| failed(e, Subject::Template(id)))?
        .iter()
        .map(|v| v.version)
        .collect();
    requests::check_arm_versions(&arms, &existing)?;
    let arms: Vec<_> = arms.iter().map(convert::arm_to_wit).collect();
    let experiment = experiments::set(id, &arms)
        .map_err(|e| ApiError::from_service(convert::ratings_error(e), Subject::Experiment(id)))?;
    Ok(ApiResponse::ok(render::experiment(&convert::experiment(
        experiment,
    ))))
}

/// `GET /api/experiments/{template_id}`: assignments, scores and comparisons per arm.
pub fn get(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.get("template_id");
    let results = experiments::results(id)
        .map_err(|e| ApiError::from_service(convert::ratings_error(e), Subject::Experiment(id)))?;
    Ok(ApiResponse::ok(render::experiment_results(
        &convert::results(results),
    )))
}

/// `DELETE /api/experiments/{template_id}` (admin).
pub fn delete(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.get("template_id");
    experiments::delete(id)
        .map_err(|e| ApiError::from_service(convert::ratings_error(e), Subject::Experiment(id)))?;
    Ok(ApiResponse::no_content())
}
