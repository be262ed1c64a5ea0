//! `/api/templates...`: the template service's store, plus scores per version.

use super::Ctx;
use super::bindings::promptmesh::ratings::ratings;
use super::bindings::promptmesh::templates::store;
use super::bindings::promptmesh::templates::types as tt;
use super::convert;
use crate::error::{ApiError, ServiceError, Subject};
use crate::response::ApiResponse;
use crate::{query, render, requests};

/// The error of a template call about `subject`.
pub fn failed(error: tt::Error, subject: Subject<'_>) -> ApiError {
    ApiError::from_service(convert::templates_error(error), subject)
}

/// The error of a call about a version or label of template `id`: a `not-found` is the
/// version's (label's) when the template exists, else the template's.
pub fn failed_within(error: tt::Error, id: &str, subject: Subject<'_>) -> ApiError {
    match convert::templates_error(error) {
        ServiceError::NotFound(_) => ApiError::not_found(subject.narrowed(store::get(id).is_ok())),
        other => ApiError::from_service(other, Subject::Template(id)),
    }
}

/// `GET /api/templates`.
pub fn search(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let q = query::templates(&ctx.query)?;
    let page = store::search(&tt::SearchQuery {
        text: q.text,
        tag: q.tag,
        limit: q.page.limit,
        cursor: q.page.cursor,
    })
    .map_err(|e| failed(e, Subject::Listing))?;
    let items = page
        .items
        .into_iter()
        .map(|t| render::template(&convert::template(t)))
        .collect();
    Ok(ApiResponse::ok(render::page(items, page.next_cursor)))
}

/// `POST /api/templates`: 201 with the template and its first version.
pub fn create(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let new = requests::new_template(&ctx.body)?;
    let (template, version) = store::create(&tt::NewTemplate {
        name: new.name,
        description: new.description,
        body: new.body,
        tags: new.tags,
    })
    .map_err(|e| failed(e, Subject::Other))?;
    let (template, version) = (convert::template(template), convert::version(version));
    Ok(
        ApiResponse::json(201, render::template_and_version(&template, &version))
            .with_header("location", render::template_path(&template.id)),
    )
}

/// `GET /api/templates/{id}`: the template and its latest version.
pub fn get(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.get("id");
    let template = store::get(id).map_err(|e| failed(e, Subject::Template(id)))?;
    let latest = store::resolve(id, &tt::VersionSelector::Latest)
        .map_err(|e| failed(e, Subject::Template(id)))?;
    Ok(ApiResponse::ok(render::template_with_latest(
        &convert::template(template),
        &convert::version(latest),
    )))
}

/// `PUT /api/templates/{id}`: a new version.
pub fn update(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.get("id");
    let update = requests::template_update(&ctx.body)?;
    let (template, version) = store::update(
        id,
        &tt::TemplateUpdate {
            body: update.body,
            name: update.name,
            description: update.description,
            tags: update.tags,
        },
    )
    .map_err(|e| failed(e, Subject::Template(id)))?;
    Ok(ApiResponse::ok(render::template_and_version(
        &convert::template(template),
        &convert::version(version),
    )))
}

/// `DELETE /api/templates/{id}`.
pub fn delete(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.get("id");
    store::delete(id).map_err(|e| failed(e, Subject::Template(id)))?;
    Ok(ApiResponse::no_content())
}

/// `GET /api/templates/{id}/versions`.
pub fn versions(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.get("id");
    let versions: Vec<_> = store::versions(id)
        .map_err(|e| failed(e, Subject::Template(id)))?
        .into_iter()
        .map(convert::version)
        .collect();
    Ok(ApiResponse::ok(render::versions(&versions)))
}

/// `GET /api/templates/{id}/versions/{version}`; a number that is not a version is 404.
pub fn version(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.get("id");
    let raw = ctx.params.get("version");
    let Ok(number) = raw.parse::<u32>() else {
        store::get(id).map_err(|e| failed(e, Subject::Template(id)))?;
        return Err(ApiError::new(
            404,
            "version_not_found",
            format!("template `{id}` has no version `{raw}`; versions are whole numbers"),
        ));
    };
    let version = store::resolve(id, &tt::VersionSelector::Number(number))
        .map_err(|e| failed_within(e, id, Subject::Version(id, number)))?;
    Ok(ApiResponse::ok(render::version(&convert::version(version))))
}

/// `PUT /api/templates/{id}/labels/{label}`.
pub fn set_label(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let (id, label) = (ctx.params.get("id"), ctx.params.get("label"));
    let version = requests::label_target(&ctx.body)?;
    let template = store::set_label(id, label, version)
        .map_err(|e| failed_within(e, id, Subject::Version(id, version)))?;
    Ok(ApiResponse::ok(render::template(&convert::template(
        template,
    ))))
}

/// `DELETE /api/templates/{id}/labels/{label}`.
pub fn delete_label(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let (id, label) = (ctx.params.get("id"), ctx.params.get("label"));
    store::delete_label(id, label).map_err(|e| failed_within(e, id, Subject::Label(id, label)))?;
    Ok(ApiResponse::no_content())
}

/// `GET /api/templates/{id}/stats`: scores per version of an existing template.
pub fn stats(ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    let id = ctx.params.get("id");
    store::get(id).map_err(|e| failed(e, Subject::Template(id)))?;
    let stats: Vec<_> = ratings::stats_by_version(id)
        .map_err(|e| ApiError::from_service(convert::ratings_error(e), Subject::Template(id)))?
        .into_iter()
        .map(convert::version_stats)
        .collect();
    Ok(ApiResponse::ok(render::stats(id, &stats)))
}
