//! The sandbox's REST surface in the shape of midjourney-proxy: routes, the imagine request,
//! the submit result with its numeric codes, and error bodies.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::task::is_task_id;

/// Submit result codes of midjourney-proxy.
pub mod code {
    /// Submitted; `result` is the task id.
    pub const SUCCESS: u32 = 1;
    /// The task does not exist.
    pub const NOT_FOUND: u32 = 3;
    /// The request is invalid.
    pub const VALIDATION_ERROR: u32 = 4;
    /// The proxy failed.
    pub const FAILURE: u32 = 9;
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /mj/submit/imagine`.
    Submit,
    /// `GET /mj/task/{id}/fetch`.
    Fetch(String),
    /// `GET /mj/image/{id}.png`.
    Image(String),
    /// A known path with the wrong method; carries the allowed one.
    MethodNotAllowed(&'static str),
    NotFound,
}

/// The route of `method` on `path` (relative to the component's route).
pub fn route(method: &str, path: &str) -> Route {
    let (expected, found) = match path.trim_end_matches('/') {
        "/mj/submit/imagine" => ("POST", Route::Submit),
        other => match task_path(other) {
            Some(found) => ("GET", found),
            None => return Route::NotFound,
        },
    };
    if method.eq_ignore_ascii_case(expected) {
        found
    } else {
        Route::MethodNotAllowed(expected)
    }
}

/// `/mj/task/{id}/fetch` or `/mj/image/{id}.png` with a numeric id.
fn task_path(path: &str) -> Option<Route> {
    if let Some(id) = path
        .strip_prefix("/mj/task/")
        .and_then(|r| r.strip_suffix("/fetch"))
    {
        return is_task_id(id).then(|| Route::Fetch(id.to_owned()));
    }
    let id = path.strip_prefix("/mj/image/")?.strip_suffix(".png")?;
    is_task_id(id).then(|| Route::Image(id.to_owned()))
}

/// The body of `POST /mj/submit/imagine`. Unknown fields are ignored, as the proxy does;
/// so is `notifyHook`: the sandbox has no outbound hosts and callers poll.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImagineBody {
    prompt: Option<String>,
    base64_array: Option<Vec<String>>,
    state: Option<String>,
}

/// A valid imagine request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagineRequest {
    pub prompt: String,
    /// Echoed back on the task.
    pub state: String,
    /// Reference images sent; the sandbox accepts and ignores them.
    pub reference_images: usize,
}

/// A refused submission: the HTTP status and the submit result to answer with.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub result: SubmitResult,
}

/// Parses and checks an imagine body. Unreadable JSON is `400` with code 4; a missing or
/// blank prompt is `200` with code 4, as midjourney-proxy answers.
pub fn parse_imagine(body: &[u8]) -> Result<ImagineRequest, Refusal> {
    let parsed: ImagineBody = serde_json::from_slice(body).map_err(|e| Refusal {
        status: 400,
        result: SubmitResult::invalid(format!(
            "the body is not a JSON imagine request ({e}); send {{\"prompt\": \"...\"}}"
        )),
    })?;
    let prompt = parsed.prompt.unwrap_or_default();
    if prompt.trim().is_empty() {
        return Err(Refusal {
            status: 200,
            result: SubmitResult::invalid(
                "prompt is missing or blank; send a non-empty `prompt`".to_owned(),
            ),
        });
    }
    Ok(ImagineRequest {
        prompt,
        state: parsed.state.unwrap_or_default(),
        reference_images: parsed.base64_array.map_or(0, |images| images.len()),
    })
}

/// midjourney-proxy's answer to a submission.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubmitResult {
    pub code: u32,
    pub description: String,
    pub result: Option<String>,
    pub properties: Map<String, Value>,
}

impl SubmitResult {
    /// Code 1: task `id` was submitted.
    pub fn submitted(id: &str) -> Self {
        SubmitResult {
            code: code::SUCCESS,
            description: "Submit success".to_owned(),
            result: Some(id.to_owned()),
            properties: Map::new(),
        }
    }

    /// Code 4 with `description`.
    pub fn invalid(description: String) -> Self {
        Self::error(code::VALIDATION_ERROR, description)
    }

    /// Any failure `code` with `description`.
    pub fn error(code: u32, description: String) -> Self {
        SubmitResult {
            code,
            description,
            result: None,
            properties: Map::new(),
        }
    }
}

/// The body of a `404` for task `id`.
pub fn task_not_found(id: &str) -> SubmitResult {
    SubmitResult::error(
        code::NOT_FOUND,
        format!("task `{id}` not found; submit one with POST /mj/submit/imagine"),
    )
}

/// `scheme://host[:port]` of an absolute URL, e.g. the `spin-full-url` header.
pub fn base_url(full_url: &str) -> Option<&str> {
    let scheme_end = full_url.find("://")?;
    let rest = &full_url[scheme_end + 3..];
    let host_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    (host_len > 0).then(|| &full_url[..scheme_end + 3 + host_len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_midjourney_proxy_paths() {
        assert_eq!(route("POST", "/mj/submit/imagine"), Route::Submit);
        assert_eq!(
            route("GET", "/mj/task/1700000000000123456/fetch"),
            Route::Fetch("1700000000000123456".into())
        );
        assert_eq!(route("get", "/mj/image/42.png"), Route::Image("42".into()));
        assert_eq!(
            route("GET", "/mj/submit/imagine"),
            Route::MethodNotAllowed("POST")
        );
        assert_eq!(
            route("POST", "/mj/task/42/fetch"),
            Route::MethodNotAllowed("GET")
        );
        assert_eq!(route("GET", "/mj/task/list"), Route::NotFound);
        assert_eq!(route("GET", "/mj/task/abc/fetch"), Route::NotFound);
        assert_eq!(route("GET", "/mj/image/42.webp"), Route::NotFound);
        assert_eq!(route("GET", "/"), Route::NotFound);
    }

    #[test]
    fn an_imagine_body_keeps_its_prompt_and_state() {
        let body = br#"{"prompt": "a cat --ar 16:9", "base64Array": ["data:image/png;base64,AA=="], "notifyHook": "", "state": "job_1", "extra": 1}"#;
        assert_eq!(
            parse_imagine(body).expect("valid body"),
            ImagineRequest {
                prompt: "a cat --ar 16:9".into(),
                state: "job_1".into(),
                reference_images: 1,
            }
        );
    }

    #[test]
    fn a_blank_prompt_is_a_validation_error_with_code_4() {
        let refusal = parse_imagine(br#"{"prompt": "   "}"#).expect_err("blank prompt");
        assert_eq!(refusal.status, 200);
        assert_eq!(
            serde_json::to_value(&refusal.result).expect("serialises"),
            serde_json::json!({
                "code": 4,
                "description": "prompt is missing or blank; send a non-empty `prompt`",
                "result": null,
                "properties": {},
            })
        );
        assert_eq!(
            parse_imagine(b"{}")
                .expect_err("missing prompt")
                .result
                .code,
            4
        );
    }

    #[test]
    fn unreadable_json_is_a_400_with_code_4() {
        let refusal = parse_imagine(b"{not json").expect_err("bad JSON");
        assert_eq!((refusal.status, refusal.result.code), (400, 4));
        assert!(
            refusal
                .result
                .description
                .starts_with("the body is not a JSON imagine request ("),
            "{}",
            refusal.result.description
        );
        assert_eq!(
            parse_imagine(br#"{"prompt": 7}"#)
                .expect_err("prompt not a string")
                .status,
            400
        );
    }

    #[test]
    fn a_submission_answers_code_1_with_the_task_id() {
        assert_eq!(
            serde_json::to_value(SubmitResult::submitted("17")).expect("serialises"),
            serde_json::json!({"code": 1, "description": "Submit success", "result": "17", "properties": {}})
        );
        assert_eq!(
            task_not_found("9").description,
            "task `9` not found; submit one with POST /mj/submit/imagine"
        );
    }

    #[test]
    fn the_base_url_is_scheme_and_authority() {
        assert_eq!(
            base_url("http://imagine-sandbox.spin.internal/mj/task/1/fetch"),
            Some("http://imagine-sandbox.spin.internal")
        );
        assert_eq!(
            base_url("https://127.0.0.1:3000?x=1"),
            Some("https://127.0.0.1:3000")
        );
        assert_eq!(base_url("http://h"), Some("http://h"));
        assert_eq!(base_url("/relative/path"), None);
        assert_eq!(base_url("http:///nohost"), None);
    }
}
