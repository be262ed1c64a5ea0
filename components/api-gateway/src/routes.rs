//! The routing table: method and path pattern to a handler and the access it needs, with
//! 404 for an unknown path and 405 (and `Allow`) for a known path with another method.

use percent_encoding::percent_decode_str;

use crate::error::ApiError;

/// What serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Healthz,
    Readyz,
    OpenApi,
    CreateKey,
    SearchTemplates,
    CreateTemplate,
    GetTemplate,
    UpdateTemplate,
    DeleteTemplate,
    ListVersions,
    GetVersion,
    SetLabel,
    DeleteLabel,
    TemplateStats,
    PreviewPrompt,
    Generate,
    ListJobs,
    GetJob,
    CancelJob,
    RequeueJob,
    ProviderHook,
    ListImages,
    GetImage,
    ImageMeta,
    RateImage,
    SetExperiment,
    GetExperiment,
    DeleteExperiment,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No key; not counted against any limit.
    Public,
    /// No key: the provider's callback, which carries the job's token instead.
    Hook,
    /// Any valid key.
    Key,
    /// An `admin` key.
    Admin,
}

/// One route: `pattern` segments in braces are parameters (named as in the OpenAPI document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub pattern: &'static str,
    pub handler: Handler,
    pub access: Access,
}

const fn route(
    method: &'static str,
    pattern: &'static str,
    handler: Handler,
    access: Access,
) -> Route {
    Route {
        method,
        pattern,
        handler,
        access,
    }
}

use Access::{Admin, Hook, Key, Public};
use Handler as H;

/// Every route the gateway serves.
pub const ROUTES: &[Route] = &[
    route("GET", "/healthz", H::Healthz, Public),
    route("GET", "/readyz", H::Readyz, Public),
    route("GET", "/api/openapi.json", H::OpenApi, Public),
    route("POST", "/api/keys", H::CreateKey, Admin),
    route("GET", "/api/templates", H::SearchTemplates, Key),
    route("POST", "/api/templates", H::CreateTemplate, Key),
    route("GET", "/api/templates/{id}", H::GetTemplate, Key),
    route("PUT", "/api/templates/{id}", H::UpdateTemplate, Key),
    route("DELETE", "/api/templates/{id}", H::DeleteTemplate, Key),
    route("GET", "/api/templates/{id}/versions", H::ListVersions, Key),
    route(
        "GET",
        "/api/templates/{id}/versions/{version}",
        H::GetVersion,
        Key,
    ),
    route(
        "PUT",
        "/api/templates/{id}/labels/{label}",
        H::SetLabel,
        Key,
    ),
    route(
        "DELETE",
        "/api/templates/{id}/labels/{label}",
        H::DeleteLabel,
        Key,
    ),
    route("GET", "/api/templates/{id}/stats", H::TemplateStats, Key),
    route("POST", "/api/prompts", H::PreviewPrompt, Key),
    route("POST", "/api/generate", H::Generate, Key),
    route("GET", "/api/jobs", H::ListJobs, Key),
    route("GET", "/api/jobs/{id}", H::GetJob, Key),
    route("POST", "/api/jobs/{id}/cancel", H::CancelJob, Key),
    route("POST", "/api/jobs/{id}/requeue", H::RequeueJob, Admin),
    route("POST", "/api/provider/hooks/{id}", H::ProviderHook, Hook),
    route("GET", "/api/images", H::ListImages, Key),
    route("GET", "/api/images/{id}", H::GetImage, Key),
    route("GET", "/api/images/{id}/meta", H::ImageMeta, Key),
    route("POST", "/api/images/{id}/ratings", H::RateImage, Key),
    route(
        "PUT",
        "/api/experiments/{template_id}",
        H::SetExperiment,
        Admin,
    ),
    route(
        "GET",
        "/api/experiments/{template_id}",
        H::GetExperiment,
        Key,
    ),
    route(
        "DELETE",
        "/api/experiments/{template_id}",
        H::DeleteExperiment,
        Admin,
    ),
];

/// The path parameters of a matched route, percent-decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The value of parameter `name` (empty when the route has none by that name).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// A route that serves the request, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub route: &'static Route,
    pub params: Params,
}

/// The route for `method` and `path`, or 404 `not_found` / 405 `method_not_allowed`.
pub fn resolve(method: &str, path: &str) -> Result<Matched, ApiError> {
    let mut allowed: Vec<&'static str> = Vec::new();
    for route in ROUTES {
        let Some(params) = match_pattern(route.pattern, path) else {
            continue;
        };
        if route.method == method {
            return Ok(Matched { route, params });
        }
        allowed.push(route.method);
    }
    if allowed.is_empty() {
        Err(ApiError::no_route(path))
    } else {
        Err(ApiError::method_not_allowed(method, path, &allowed))
    }
}

/// The parameters of `path` under `pattern`, or `None` when it does not match.
fn match_pattern(pattern: &'static str, path: &str) -> Option<Params> {
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    let mut params = Vec::new();
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(Params(params)),
            (Some(expected), Some(actual)) => match parameter_name(expected) {
                Some(_) if actual.is_empty() => return None,
                Some(name) => params.push((name, decode(actual)?)),
                None if expected == actual => {}
                None => return None,
            },
            _ => return None,
        }
    }
}

/// `name` of a `{name}` segment.
fn parameter_name(segment: &'static str) -> Option<&'static str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

/// A percent-decoded path segment; `None` when it is not UTF-8.
fn decode(segment: &str) -> Option<String> {
    percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler(method: &str, path: &str) -> Handler {
        resolve(method, path).expect("a route").route.handler
    }

    #[test]
    fn paths_resolve_to_their_handlers_with_parameters() {
        assert_eq!(handler("GET", "/healthz"), Handler::Healthz);
        assert_eq!(handler("GET", "/api/openapi.json"), Handler::OpenApi);
        assert_eq!(handler("POST", "/api/templates"), Handler::CreateTemplate);
        assert_eq!(
            handler("POST", "/api/jobs/job_1/cancel"),
            Handler::CancelJob
        );
        let matched = resolve("PUT", "/api/templates/tpl_1/labels/production").expect("route");
        assert_eq!(matched.route.handler, Handler::SetLabel);
        assert_eq!(matched.params.get("id"), "tpl_1");
        assert_eq!(matched.params.get("label"), "production");
        assert_eq!(matched.params.get("other"), "");
    }

    #[test]
    fn parameters_are_percent_decoded() {
        let matched = resolve("DELETE", "/api/templates/tpl_1/labels/my%20label").expect("route");
        assert_eq!(matched.params.get("label"), "my label");
        assert!(resolve("DELETE", "/api/templates/tpl_1/labels/%FF").is_err());
    }

    #[test]
    fn unknown_paths_are_404_not_found() {
        for path in [
            "/api/nothing-here",
            "/api/templates/",
            "/api",
            "/api/jobs/job_1/extra",
        ] {
            let error = resolve("GET", path).expect_err(path);
            assert_eq!(
                (error.status, error.code.as_str()),
                (404, "not_found"),
                "{path}"
            );
        }
    }

    #[test]
    fn known_paths_with_another_method_are_405_with_allow() {
        let error = resolve("PATCH", "/api/templates").expect_err("no PATCH");
        assert_eq!(
            (error.status, error.code.as_str()),
            (405, "method_not_allowed")
        );
        assert_eq!(
            error.headers,
            [("allow".to_string(), "GET, POST".to_string())]
        );
        let one = resolve("POST", "/api/templates/tpl_1").expect_err("no POST");
        assert_eq!(
            one.headers,
            [("allow".to_string(), "GET, PUT, DELETE".to_string())]
        );
    }

    #[test]
    fn admin_routes_are_keys_requeues_and_experiment_changes() {
        let admin: Vec<(&str, &str)> = ROUTES
            .iter()
            .filter(|r| r.access == Access::Admin)
            .map(|r| (r.method, r.pattern))
            .collect();
        assert_eq!(
            admin,
            [
                ("POST", "/api/keys"),
                ("POST", "/api/jobs/{id}/requeue"),
                ("PUT", "/api/experiments/{template_id}"),
                ("DELETE", "/api/experiments/{template_id}"),
            ]
        );
        let public: Vec<&str> = ROUTES
            .iter()
            .filter(|r| r.access == Access::Public)
            .map(|r| r.pattern)
            .collect();
        assert_eq!(public, ["/healthz", "/readyz", "/api/openapi.json"]);
        let hooks: Vec<&str> = ROUTES
            .iter()
            .filter(|r| r.access == Access::Hook)
            .map(|r| r.pattern)
            .collect();
        assert_eq!(hooks, ["/api/provider/hooks/{id}"]);
    }
}
