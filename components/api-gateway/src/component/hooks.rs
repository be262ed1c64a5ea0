//! `POST /api/provider/hooks/{id}?token=`: a provider's task report for job `id`. No API key:
//! the token the worker put in the job's `notifyHook` URL stands for it. The report is
//! recorded on the job when its current task has that id, for the worker following the
//! task to act on.

use promptmesh_guest::hook;
use spin_sdk::http::IncomingRequest;

use super::bindings::promptmesh::jobs::queue;
use super::{convert, platform, read_body};
use crate::error::{ApiError, Subject};
use crate::hooks;
use crate::request;
use crate::response::ApiResponse;
use crate::routes::Matched;

/// Checks the token, reads the report and records it.
pub async fn receive(
    req: IncomingRequest,
    matched: Matched,
    path_and_query: &str,
) -> Result<ApiResponse, ApiError> {
    let config = platform::config()?;
    let id = matched.params.get("id");
    let token = form_urlencoded::parse(request::split_query(path_and_query).1.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let secret = config.webhook_secret.as_deref().ok_or_else(|| {
        ApiError::new(
            503,
            "hooks_disabled",
            "provider callbacks need the application's webhook_secret; set it",
        )
    })?;
    if !hook::verify(secret, id, &token) {
        return Err(hooks::bad_token(id));
    }

    let body = read_body(req, config.max_request_bytes).await?;
    let report = hooks::provider_report(&body)?;
    let recorded = queue::provider_event(id, &convert::provider_report(report))
        .map_err(|e| ApiError::from_service(convert::jobs_error(e), Subject::Job(id)))?;
    let answer = serde_json::json!({
        "job_id": id,
        "recorded": recorded.is_some(),
        "status": recorded.map(|job| convert::job(job).status.as_str()),
    });
    Ok(ApiResponse::ok(answer))
}
