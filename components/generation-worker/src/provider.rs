//! The image provider's client for the midjourney-proxy REST contract:
//! `POST {base}/mj/submit/imagine` with its result codes, and `GET {base}/mj/task/{id}/fetch`
//! with the task's status and progress. Tasks are addressed by id only, never by prompt.

use promptmesh_guest::hook;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::outcome::{Failure, MODERATION, PROVIDER_BUSY, PROVIDER_ERROR};
use crate::ports::{Clock, HttpClient, HttpRequest, HttpResponse};
use crate::retry::{self, Backoff, RetryOn, describe};

/// midjourney-proxy's submit result codes.
pub mod code {
    /// Submitted; `result` is the task id.
    pub const SUBMITTED: i64 = 1;
    /// The task exists already; `result` is its id.
    pub const EXISTED: i64 = 21;
    /// Accepted and waiting in the proxy's queue; `result` is the task id.
    pub const IN_QUEUE: i64 = 22;
    /// The proxy's queue is full.
    pub const QUEUE_REJECTED: i64 = 23;
    /// The prompt contains a banned word (`properties.bannedWord`).
    pub const BANNED_PROMPT: i64 = 24;
}

/// The header that carries the proxy's API secret.
pub const API_SECRET_HEADER: &str = "mj-api-secret";

/// A provider endpoint and how to reach it.
pub struct Provider<'a> {
    pub http: &'a dyn HttpClient,
    pub clock: &'a dyn Clock,
    /// `http(s)://host[:port][/prefix]` without a trailing slash.
    pub base_url: &'a str,
    /// Sent as `mj-api-secret` when set.
    pub api_secret: Option<&'a str>,
    pub backoff: Backoff,
}

/// A task's status in the midjourney-proxy contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskStatus {
    NotStart,
    Submitted,
    Modal,
    InProgress,
    Failure,
    Success,
    Cancel,
    /// A status this client does not know; treated as not final.
    Other(String),
}

impl TaskStatus {
    pub fn parse(text: &str) -> TaskStatus {
        match text {
            "NOT_START" => TaskStatus::NotStart,
            "SUBMITTED" => TaskStatus::Submitted,
            "MODAL" => TaskStatus::Modal,
            "IN_PROGRESS" => TaskStatus::InProgress,
            "FAILURE" => TaskStatus::Failure,
            "SUCCESS" => TaskStatus::Success,
            "CANCEL" => TaskStatus::Cancel,
            other => TaskStatus::Other(other.to_owned()),
        }
    }
}

/// What one fetch says about a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskReport {
    pub status: TaskStatus,
    /// 0 to 100, when the provider gave a percentage.
    pub progress: Option<u8>,
    pub image_url: Option<String>,
    pub fail_reason: Option<String>,
}

/// Why a fetch told nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The provider does not know the task (404 or an empty answer).
    Gone(String),
    /// A failure worth polling through: no connection, 5xx, an unreadable answer.
    Transient(String),
}

#[derive(Deserialize)]
struct SubmitAnswer {
    code: i64,
    description: Option<String>,
    result: Option<Value>,
    properties: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskAnswer {
    status: Option<String>,
    progress: Option<String>,
    image_url: Option<String>,
    fail_reason: Option<String>,
}

impl Provider<'_> {
    /// Submits `prompt` to imagine, with `state` (the job id and attempt) echoed on the task
    /// and `notify_hook` (empty for none) where the provider posts the task's changes.
    /// Returns the task id, or the failure: `provider_busy` (23, or 429 to the last retry;
    /// retried later, after the provider's `Retry-After` when it gave one), `moderation`
    /// (24, final), `provider_error` (5xx or no connection after the retries: retried
    /// later; any other code or an unreadable answer: final).
    pub fn submit(&self, prompt: &str, state: &str, notify_hook: &str) -> Result<String, Failure> {
        let url = format!("{}/mj/submit/imagine", self.base_url);
        let body =
            json!({"prompt": prompt, "base64Array": [], "notifyHook": notify_hook, "state": state});
        let body = body.to_string();
        let request = |_| self.authorised(HttpRequest::post_json(&url, body.clone()));
        let attempted = retry::send(
            self.http,
            self.clock,
            self.backoff,
            RetryOn::ServerErrors,
            &request,
        );
        let attempts = attempted.attempts;
        match attempted.result {
            Err(e) => Err(Failure::retryable(
                PROVIDER_ERROR,
                format!("submitting to {url} failed after {attempts} attempts: {e}"),
            )),
            Ok(r) if r.status == 429 => Err(Failure::retryable(
                PROVIDER_BUSY,
                format!(
                    "{url} still answered {} after {attempts} attempts",
                    describe(&r)
                ),
            )
            .retry_after(retry::retry_after(&r))),
            Ok(r) if r.status >= 500 => Err(Failure::retryable(
                PROVIDER_ERROR,
                format!(
                    "submitting to {url} failed after {attempts} attempts: {}",
                    describe(&r)
                ),
            )),
            Ok(r) => submit_result(&url, &r),
        }
    }

    /// One fetch of task `task_id`.
    pub fn fetch(&self, task_id: &str) -> Result<TaskReport, FetchError> {
        let url = format!("{}/mj/task/{task_id}/fetch", self.base_url);
        let response = self
            .http
            .send(&self.authorised(HttpRequest::get(&url)))
            .map_err(|e| FetchError::Transient(format!("fetching {url} failed: {e}")))?;
        if response.status == 404 {
            return Err(FetchError::Gone(format!(
                "{url} answered {}",
                describe(&response)
            )));
        }
        if !response.is_success() {
            return Err(FetchError::Transient(format!(
                "{url} answered {}",
                describe(&response)
            )));
        }
        task_report(&url, &response.body)
    }

    fn authorised(&self, request: HttpRequest) -> HttpRequest {
        match self.api_secret {
            Some(secret) => request.with_header(API_SECRET_HEADER, secret),
            None => request,
        }
    }
}

/// The task id of an accepted submission, or the failure its code means.
fn submit_result(url: &str, response: &HttpResponse) -> Result<String, Failure> {
    let answer: SubmitAnswer = serde_json::from_slice(&response.body).map_err(|_| {
        let got = describe(response);
        Failure::new(
            PROVIDER_ERROR,
            format!("{url} answered {got}, which is not a submit result"),
        )
    })?;
    let description = answer.description.unwrap_or_default();
    match answer.code {
        code::SUBMITTED | code::EXISTED | code::IN_QUEUE => task_id(url, answer.result),
        code::QUEUE_REJECTED => Err(Failure::retryable(
            PROVIDER_BUSY,
            format!(
                "the provider's queue is full (code 23: {description}); submit the job again later"
            ),
        )),
        code::BANNED_PROMPT => Err(banned(&description, answer.properties.as_ref())),
        other => Err(Failure::new(
            PROVIDER_ERROR,
            format!("the provider refused the submission with code {other}: {description}"),
        )),
    }
}

/// The task id in `result`: digits, letters, `-` or `_`, as a string or a number.
fn task_id(url: &str, result: Option<Value>) -> Result<String, Failure> {
    let id = match result {
        Some(Value::String(id)) => id,
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if id.is_empty() || id.len() > 128 || !id.chars().all(plain) {
        return Err(Failure::new(
            PROVIDER_ERROR,
            format!("{url} accepted the prompt but gave task id `{id}`, not a plain id"),
        ));
    }
    Ok(id)
}

/// The `moderation` failure of code 24, naming the banned word when the provider gives it.
fn banned(description: &str, properties: Option<&Map<String, Value>>) -> Failure {
    let word = properties
        .and_then(|p| p.get("bannedWord"))
        .and_then(Value::as_str);
    let message = match word {
        Some(word) => format!(
            "the provider refused the prompt: it contains the banned word `{word}`; remove it and submit again"
        ),
        None => format!(
            "the provider refused the prompt as containing a banned word (code 24: {description})"
        ),
    };
    Failure::new(MODERATION, message)
}

/// The report in a fetch answer; an empty or `null` answer means the task is unknown, as
/// midjourney-proxy answers for ids it does not hold.
fn task_report(url: &str, body: &[u8]) -> Result<TaskReport, FetchError> {
    let text = String::from_utf8_lossy(body);
    if matches!(text.trim(), "" | "null") {
        return Err(FetchError::Gone(format!("{url} answered with no task")));
    }
    let answer: TaskAnswer = serde_json::from_slice(body).map_err(|e| {
        FetchError::Transient(format!("{url} answered something that is not a task: {e}"))
    })?;
    Ok(TaskReport {
        status: TaskStatus::parse(answer.status.as_deref().unwrap_or_default()),
        progress: answer.progress.as_deref().and_then(hook::percent),
        image_url: answer.image_url.filter(|u| !u.is_empty()),
        fail_reason: answer.fail_reason.filter(|r| !r.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::DEFAULT_BACKOFF;
    use crate::testing::{FakeClock, FakeHttp, reply};

    const BASE: &str = "http://mj";
    const SUBMIT: &str = "http://mj/mj/submit/imagine";

    fn provider<'a>(
        http: &'a FakeHttp,
        clock: &'a FakeClock,
        secret: Option<&'a str>,
    ) -> Provider<'a> {
        Provider {
            http,
            clock,
            base_url: BASE,
            api_secret: secret,
            backoff: DEFAULT_BACKOFF,
        }
    }

    fn submit_with(answer: &str) -> Result<String, Failure> {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(0));
        http.script("POST", SUBMIT, vec![reply(200, answer)]);
        provider(&http, &clock, None).submit("a cat", "job_1:1", "")
    }

    #[test]
    fn submits_the_contract_body_with_the_api_secret() {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(0));
        http.script(
            "POST",
            SUBMIT,
            vec![reply(
                200,
                r#"{"code":1,"description":"ok","result":"1700000000000123456"}"#,
            )],
        );
        let id = provider(&http, &clock, Some("s3cret")).submit(
            "a cat --ar 16:9",
            "job_1:1",
            "https://pm.example.com/hook",
        );
        assert_eq!(id, Ok("1700000000000123456".to_owned()));
        let sent = &http.requests()[0];
        assert_eq!(sent.header("mj-api-secret"), Some("s3cret"));
        assert_eq!(sent.header("content-type"), Some("application/json"));
        assert_eq!(
            serde_json::from_slice::<Value>(&sent.body).expect("JSON body"),
            json!({
                "prompt": "a cat --ar 16:9",
                "base64Array": [],
                "notifyHook": "https://pm.example.com/hook",
                "state": "job_1:1"
            })
        );
    }

    #[test]
    fn no_secret_sends_no_secret_header() {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(0));
        http.script(
            "POST",
            SUBMIT,
            vec![reply(200, r#"{"code":1,"result":"7"}"#)],
        );
        provider(&http, &clock, None)
            .submit("a cat", "job_1:1", "")
            .expect("submitted");
        assert_eq!(http.requests()[0].header("mj-api-secret"), None);
    }

    #[test]
    fn codes_21_and_22_carry_a_usable_task_id() {
        assert_eq!(
            submit_with(r#"{"code":21,"description":"exists","result":"0741798445574458"}"#),
            Ok("0741798445574458".into())
        );
        assert_eq!(
            submit_with(
                r#"{"code":22,"description":"queued","result":"99","properties":{"numberOfQueues":1}}"#
            ),
            Ok("99".into())
        );
        assert_eq!(
            submit_with(r#"{"code":1,"result":12345}"#),
            Ok("12345".into())
        );
    }

    #[test]
    fn code_23_is_provider_busy() {
        assert_eq!(
            submit_with(r#"{"code":23,"description":"queue full"}"#),
            Err(Failure::retryable(
                "provider_busy",
                "the provider's queue is full (code 23: queue full); submit the job again later"
            ))
        );
    }

    #[test]
    fn code_24_is_moderation_naming_the_banned_word() {
        assert_eq!(
            submit_with(
                r#"{"code":24,"description":"banned","properties":{"promptEn":"nude body","bannedWord":"nude"}}"#
            ),
            Err(Failure::new(
                "moderation",
                "the provider refused the prompt: it contains the banned word `nude`; remove it and submit again"
            ))
        );
        assert_eq!(
            submit_with(r#"{"code":24,"description":"banned"}"#)
                .expect_err("refused")
                .reason,
            "moderation"
        );
    }

    #[test]
    fn other_codes_and_unreadable_answers_are_provider_errors() {
        assert_eq!(
            submit_with(r#"{"code":4,"description":"prompt is blank"}"#),
            Err(Failure::new(
                "provider_error",
                "the provider refused the submission with code 4: prompt is blank"
            ))
        );
        assert_eq!(
            submit_with("<html>"),
            Err(Failure::new(
                "provider_error",
                "http://mj/mj/submit/imagine answered HTTP 200: <html>, which is not a submit result"
            ))
        );
        assert_eq!(
            submit_with(r#"{"code":1,"result":"../x"}"#)
                .expect_err("not a plain id")
                .message,
            "http://mj/mj/submit/imagine accepted the prompt but gave task id `../x`, not a plain id"
        );
    }

    #[test]
    fn server_errors_are_retried_three_times_with_backoff() {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(0));
        http.script(
            "POST",
            SUBMIT,
            vec![
                reply(502, ""),
                reply(503, ""),
                reply(200, r#"{"code":1,"result":"5"}"#),
            ],
        );
        assert_eq!(
            provider(&http, &clock, None).submit("a cat", "job_1:1", ""),
            Ok("5".into())
        );
        assert_eq!(http.requests().len(), 3);
        assert_eq!(clock.sleeps(), vec![150, 300]);
    }

    #[test]
    fn a_provider_still_limiting_after_the_retries_is_busy_with_its_retry_after() {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(0));
        let limited = reply(429, "slow down").with_header("Retry-After", "7");
        http.script("POST", SUBMIT, vec![limited]);
        let failure = provider(&http, &clock, None)
            .submit("a cat", "job_1:1", "")
            .expect_err("still limited");
        assert_eq!(
            (failure.reason, failure.retry),
            (
                "provider_busy",
                crate::outcome::Retry::Later {
                    after: Some(std::time::Duration::from_secs(7))
                }
            )
        );
        assert_eq!(clock.sleeps(), vec![7000, 7000, 7000]);
    }

    #[test]
    fn an_unreachable_provider_fails_after_four_attempts() {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(0));
        http.script("POST", SUBMIT, vec![reply(500, "down")]);
        assert_eq!(
            provider(&http, &clock, None).submit("a cat", "job_1:1", ""),
            Err(Failure::retryable(
                "provider_error",
                "submitting to http://mj/mj/submit/imagine failed after 4 attempts: HTTP 500: down"
            ))
        );
        assert_eq!(clock.sleeps(), vec![150, 300, 600]);
    }

    #[test]
    fn fetch_reads_status_progress_and_image_url() {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(0));
        let url = "http://mj/mj/task/42/fetch";
        http.script("GET", url, vec![
            reply(200, r#"{"id":"42","status":"IN_PROGRESS","progress":"85%","imageUrl":"","failReason":null}"#),
            reply(200, r#"{"id":"42","status":"SUCCESS","progress":"100%","imageUrl":"http://cdn/42.png"}"#),
        ]);
        let p = provider(&http, &clock, Some("k"));
        assert_eq!(
            p.fetch("42"),
            Ok(TaskReport {
                status: TaskStatus::InProgress,
                progress: Some(85),
                image_url: None,
                fail_reason: None
            })
        );
        assert_eq!(
            p.fetch("42"),
            Ok(TaskReport {
                status: TaskStatus::Success,
                progress: Some(100),
                image_url: Some("http://cdn/42.png".into()),
                fail_reason: None,
            })
        );
        assert_eq!(http.requests()[0].header("mj-api-secret"), Some("k"));
    }

    #[test]
    fn fetch_tells_a_lost_task_from_a_transient_failure() {
        let (http, clock) = (FakeHttp::new(), FakeClock::new(0));
        http.script("GET", "http://mj/mj/task/1/fetch", vec![reply(404, "")]);
        http.script("GET", "http://mj/mj/task/2/fetch", vec![reply(200, "")]);
        http.script("GET", "http://mj/mj/task/3/fetch", vec![reply(503, "busy")]);
        let p = provider(&http, &clock, None);
        assert_eq!(
            p.fetch("1"),
            Err(FetchError::Gone(
                "http://mj/mj/task/1/fetch answered HTTP 404".into()
            ))
        );
        assert_eq!(
            p.fetch("2"),
            Err(FetchError::Gone(
                "http://mj/mj/task/2/fetch answered with no task".into()
            ))
        );
        assert_eq!(
            p.fetch("3"),
            Err(FetchError::Transient(
                "http://mj/mj/task/3/fetch answered HTTP 503: busy".into()
            ))
        );
        assert_eq!(
            clock.sleeps(),
            Vec::<u64>::new(),
            "polling is the retry of a fetch"
        );
    }

    #[test]
    fn unknown_statuses_are_kept_as_not_final() {
        assert_eq!(
            TaskStatus::parse("QUEUED"),
            TaskStatus::Other("QUEUED".into())
        );
    }
}
