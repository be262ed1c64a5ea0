//! The Wasm edge: the spin-sdk HTTP handler, the WIT imports of the services, and the host
//! capabilities (variables, SQLite, key-value, Redis). It runs the request pipeline (route,
//! authenticate, count, authorize, read the body) and hands each route to its handler.
//!
//! A trap or timeout in a linked service traps this instance too, so no handler can catch
//! one: the runtime answers those requests (the prompt-mesh host with a 5xx).

mod convert;
mod experiments;
mod hooks;
mod images;
mod jobs;
mod keys;
mod platform;
mod prompts;
mod templates;

use futures::TryStreamExt;
use spin_sdk::http::{IncomingRequest, Response};
use spin_sdk::http_component;

use crate::config::Config;
use crate::error::ApiError;
use crate::model::Principal;
use crate::ratelimit::Decision;
use crate::request;
use crate::response::ApiResponse;
use crate::routes::{self, Access, Handler, Matched, Params};
use crate::{auth, health, openapi};

/// The bindings of the services this component imports.
mod bindings {
    wit_bindgen::generate!({
        world: "api-gateway",
        path: "../../wit/services",
        generate_all,
    });
}

/// What a handler gets: the caller, the request's parts and the settings.
pub struct Ctx {
    pub principal: Principal,
    pub config: Config,
    pub params: Params,
    pub query: String,
    pub body: Vec<u8>,
    /// `If-None-Match`, for image bytes.
    pub if_none_match: Option<String>,
    /// `Idempotency-Key`, for generations.
    pub idempotency_key: Option<String>,
}

#[http_component]
async fn handle(req: IncomingRequest) -> Response {
    let response = serve(req).await.unwrap_or_else(ApiError::into_response);
    into_spin(response)
}

/// The request pipeline; the rate-limit headers go on every answer after counting.
async fn serve(req: IncomingRequest) -> Result<ApiResponse, ApiError> {
    let path_and_query = req.path_with_query().unwrap_or_else(|| "/".into());
    let path = request::full_path(
        header(&req, "spin-component-route").as_deref(),
        header(&req, "spin-path-info").as_deref(),
        &path_and_query,
    );
    let matched = routes::resolve(&req.method().to_string(), &path)?;
    match matched.route.access {
        Access::Public => return Ok(public(matched.route.handler)),
        Access::Hook => return hooks::receive(req, matched, &path_and_query).await,
        Access::Key | Access::Admin => {}
    }

    let config = platform::config()?;
    let key = auth::credential(
        header(&req, "authorization").as_deref(),
        header(&req, "x-api-key").as_deref(),
    )?;
    let principal = auth::authenticate(&key, config.admin_api_key.as_deref(), platform::db)?;
    let decision = platform::count(&principal, &config)?;

    let query = request::split_query(&path_and_query).1.to_string();
    let answer = authorized(req, matched, principal, config, query, decision).await;
    let headers = decision.headers();
    Ok(answer
        .unwrap_or_else(ApiError::into_response)
        .with_headers(&headers))
}

/// Everything after counting: the limit, the tier's rights, the body, the handler.
async fn authorized(
    req: IncomingRequest,
    matched: Matched,
    principal: Principal,
    config: Config,
    query: String,
    decision: Decision,
) -> Result<ApiResponse, ApiError> {
    decision.check()?;
    if matched.route.access == Access::Admin && !principal.is_admin() {
        return Err(ApiError::forbidden(&format!(
            "{} {}",
            matched.route.method, matched.route.pattern
        )));
    }
    let if_none_match = header(&req, "if-none-match");
    let keys: Vec<String> = req
        .headers()
        .get(crate::hooks::IDEMPOTENCY_HEADER)
        .into_iter()
        .map(|value| String::from_utf8_lossy(&value).into_owned())
        .collect();
    let idempotency_key = crate::hooks::idempotency_key(&keys)?;
    let body = match matched.route.method {
        "POST" | "PUT" => read_body(req, config.max_request_bytes).await?,
        _ => Vec::new(),
    };
    let ctx = Ctx {
        principal,
        config,
        params: matched.params,
        query,
        body,
        if_none_match,
        idempotency_key,
    };
    dispatch(matched.route.handler, &ctx)
}

/// The routes that need no key.
fn public(handler: Handler) -> ApiResponse {
    match handler {
        Handler::Healthz => health::liveness(),
        Handler::Readyz => platform::readiness(),
        _ => ApiResponse::bytes("application/json", openapi::DOCUMENT.as_bytes().to_vec()),
    }
}

fn dispatch(handler: Handler, ctx: &Ctx) -> Result<ApiResponse, ApiError> {
    match handler {
        Handler::Healthz | Handler::Readyz | Handler::OpenApi => Ok(public(handler)),
        Handler::CreateKey => keys::create(ctx),
        Handler::SearchTemplates => templates::search(ctx),
        Handler::CreateTemplate => templates::create(ctx),
        Handler::GetTemplate => templates::get(ctx),
        Handler::UpdateTemplate => templates::update(ctx),
        Handler::DeleteTemplate => templates::delete(ctx),
        Handler::ListVersions => templates::versions(ctx),
        Handler::GetVersion => templates::version(ctx),
        Handler::SetLabel => templates::set_label(ctx),
        Handler::DeleteLabel => templates::delete_label(ctx),
        Handler::TemplateStats => templates::stats(ctx),
        Handler::PreviewPrompt => prompts::preview(ctx),
        Handler::Generate => prompts::generate(ctx),
        Handler::ListJobs => jobs::list(ctx),
        Handler::GetJob => jobs::get(ctx),
        Handler::CancelJob => jobs::cancel(ctx),
        Handler::RequeueJob => jobs::requeue(ctx),
        Handler::ProviderHook => Err(ApiError::internal(
            "provider callbacks are answered before authentication; this route is misrouted",
        )),
        Handler::ListImages => images::list(ctx),
        Handler::GetImage => images::bytes(ctx),
        Handler::ImageMeta => images::meta(ctx),
        Handler::RateImage => images::rate(ctx),
        Handler::SetExperiment => experiments::set(ctx),
        Handler::GetExperiment => experiments::get(ctx),
        Handler::DeleteExperiment => experiments::delete(ctx),
    }
}

/// The body, at most `max` bytes (413 past that, before reading on when the declared length
/// says so), declared as JSON (415 otherwise).
pub(crate) async fn read_body(req: IncomingRequest, max: u64) -> Result<Vec<u8>, ApiError> {
    request::check_declared_length(header(&req, "content-length").as_deref(), max)?;
    let content_type = header(&req, "content-type");
    let mut stream = req.into_body_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.try_next().await.map_err(|e| {
        ApiError::new(
            400,
            "malformed_json",
            format!("reading the body failed: {e}"),
        )
    })? {
        body.extend(chunk);
        if body.len() as u64 > max {
            return Err(ApiError::payload_too_large(max));
        }
    }
    if !body.is_empty() {
        request::check_content_type(content_type.as_deref())?;
    }
    Ok(body)
}

/// The first value of header `name`, if it is UTF-8.
fn header(req: &IncomingRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .into_iter()
        .next()
        .and_then(|value| String::from_utf8(value).ok())
}

fn into_spin(response: ApiResponse) -> Response {
    let (status, headers, body) = response.into_parts();
    let mut builder = Response::builder();
    builder.status(status);
    for (name, value) in headers {
        builder.header(name, value);
    }
    builder.body(body).build()
}
