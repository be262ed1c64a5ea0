//! `/api/images...`: a key's images (every image for admins), their bytes and ratings.

use super::bindings::promptmesh::jobs::images;
use super::bindings::promptmesh::jobs::types as jt;
use super::bindings::promptmesh::ratings::ratings;
use super::bindings::promptmesh::ratings::types as rt;
use super::{Ctx, convert};
use crate::error::{ApiError, ServiceError, Subject};
use crate::model::{Image, Principal};
use crate::render::{self, RatingsSummary};
use crate::request::{etag, etag_matches};
use crate::response::ApiResponse;
use crate::{query, requests};

/// Images never change, so clients may keep them for a year.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

/// The image `id` if `principal` may see it; another key's image is 404 like a missing one.
fn visible(id: &str, principal: &Principal) -> Result<Image, ApiError> {
    let image = images::get(id)
        .map(convert::image)
        .map_err(|e| ApiError::from_service(convert::jobs_error(e), Subject::Image(id)))?;
    if principal.can_see(&image.owner) {
        Ok(image)
    } else {
        Err(ApiError::not_found(Subject::Image(id)))
    }
}

/// Every rating of image `id`.
fn ratings_of(id: &str) -> Result<Vec<rt::Rating>, ApiError> {
    match ratings::for_image(id).map_err(convert::ratings_error) {
        Ok(all) => Ok(all),
        Err(ServiceError::NotFound(_)) => Ok(Vec::new()),
        Err(other) => Err(ApiError::from_service(other, Subject::Image(id))),
    }
}

fn meta_json(image: &Image) -> Result<serde_json::Value, ApiError> {
    let scores: Vec<u8> = ratings_of(&image.id)?.iter().map(|r| r.score).collect();
    Ok(render::image_meta(image, RatingsSummary::of(&scores)))
}

/// `GET /api/images`.
pub fn list(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let q = query::images(&ctx.query)?;
    let page = images::list_images(&jt::ImageFilter {
        template_id: q.template,
        job_id: q.job,
        owner: ctx.principal.owner_filter(),
        limit: q.page.limit,
        cursor: q.page.cursor,
    })
    .map_err(|e| ApiError::from_service(convert::jobs_error(e), Subject::Listing))?;
    let items = page
        .items
        .into_iter()
        .map(|i| meta_json(&convert::image(i)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ApiResponse::ok(render::page(items, page.next_cursor)))
}

/// `GET /api/images/{id}`: the bytes, or 304 when `If-None-Match` has the ETag.
pub fn bytes(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.get("id");
    let image = visible(id, &ctx.principal)?;
    let tag = etag(&image.sha256);
    if etag_matches(ctx.if_none_match.as_deref(), &image.sha256) {
        return Ok(ApiResponse::empty(304)
            .with_header("etag", tag)
            .with_header("cache-control", CACHE_CONTROL));
    }
    let bytes = images::bytes(id)
        .map_err(|e| ApiError::from_service(convert::jobs_error(e), Subject::Image(id)))?;
    Ok(ApiResponse::bytes(&image.content_type, bytes)
        .with_header("etag", tag)
        .with_header("cache-control", CACHE_CONTROL))
}

/// `GET /api/images/{id}/meta`.
pub fn meta(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let image = visible(ctx.params.get("id"), &ctx.principal)?;
    Ok(ApiResponse::ok(meta_json(&image)?))
}

/// `POST /api/images/{id}/ratings`: 201 for this key's first rating, 200 when it replaces.
pub fn rate(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let new = requests::new_rating(&ctx.body)?;
    let id = ctx.params.get("id");
    let image = visible(id, &ctx.principal)?;
    let user = &ctx.principal.key_id;
    let replaces = ratings_of(id)?.iter().any(|r| &r.user == user);
    let template = image.template.as_ref();
    let rating = ratings::rate(&rt::NewRating {
        image_id: image.id.clone(),
        user: user.clone(),
        score: new.score,
        feedback: new.feedback,
        template_id: template.map(|t| t.id.clone()),
        template_version: template.map(|t| t.version),
    })
    .map_err(|e| ApiError::from_service(convert::ratings_error(e), Subject::Image(id)))?;
    let status = if replaces { 200 } else { 201 };
    Ok(ApiResponse::json(
        status,
        render::rating(&convert::rating(rating)),
    ))
}
