//! Retries of outbound HTTP: which failures retry, and jittered exponential backoff that
//! honours `Retry-After`.

use std::time::Duration;

use crate::ports::{Clock, HttpClient, HttpRequest, HttpResponse, TransportError};

/// The longest `Retry-After` honoured; longer asks wait this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Retries after the first attempt and their delays: retry `n` (from 0) waits
/// `base * 2^n`, half of it fixed and half scaled by the clock's jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub retries: u32,
}

/// Three retries from 200 ms: waits of 100-200, 200-400 and 400-800 ms.
pub const DEFAULT_BACKOFF: Backoff = Backoff {
    base: Duration::from_millis(200),
    retries: 3,
};

impl Backoff {
    /// The wait before retry `n` (from 0) with `jitter` in `[0, 1)`.
    pub fn delay(&self, n: u32, jitter: f64) -> Duration {
        let full = self.base.saturating_mul(2u32.saturating_pow(n));
        let half = full / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// Which answers are worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOn {
    /// 5xx and 429 (the provider's API: a 4xx answer is final).
    ServerErrors,
    /// Any status that is not 2xx (downloads and webhooks).
    AnyFailure,
}

impl RetryOn {
    fn retries(self, status: u16) -> bool {
        match self {
            RetryOn::ServerErrors => status >= 500 || status == 429,
            RetryOn::AnyFailure => !(200..300).contains(&status),
        }
    }
}

/// The last answer of a retried request and how many attempts it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempted {
    pub result: Result<HttpResponse, TransportError>,
    pub attempts: u32,
}

/// Sends `request` until it gets an answer `retry_on` accepts or the retries run out.
/// Transport errors always retry. `request` is rebuilt for each attempt (from 1).
pub fn send(
    http: &dyn HttpClient,
    clock: &dyn Clock,
    backoff: Backoff,
    retry_on: RetryOn,
    request: &dyn Fn(u32) -> HttpRequest,
) -> Attempted {
    let mut attempt = 1;
    loop {
        let result = http.send(&request(attempt));
        let retry_after = match &result {
            Ok(response) if !retry_on.retries(response.status) => None,
            Ok(response) => Some(retry_after(response)),
            Err(_) => Some(None),
        };
        let Some(asked) = retry_after.filter(|_| attempt <= backoff.retries) else {
            return Attempted {
                result,
                attempts: attempt,
            };
        };
        let wait = backoff.delay(attempt - 1, clock.jitter());
        clock.sleep(asked.map_or(wait, |asked| asked.max(wait)));
        attempt += 1;
    }
}

/// The wait a 429 or 503 asks for in seconds, capped at [`MAX_RETRY_AFTER`]; HTTP dates
/// are not honoured.
pub fn retry_after(response: &HttpResponse) -> Option<Duration> {
    let seconds: u64 = response.header("retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// A short, printable form of a response for messages: `HTTP 503: <first 200 chars>`.
pub fn describe(response: &HttpResponse) -> String {
    let body = String::from_utf8_lossy(&response.body);
    let snippet: String = body.chars().take(200).collect();
    match snippet.trim() {
        "" => format!("HTTP {}", response.status),
        text => format!("HTTP {}: {text}", response.status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{FakeClock, FakeHttp, reply};

    const URL: &str = "http://provider/x";

    fn get(_: u32) -> HttpRequest {
        HttpRequest::get(URL)
    }

    #[test]
    fn delays_double_from_200_ms_with_half_of_each_jittered() {
        let b = DEFAULT_BACKOFF;
        assert_eq!(b.delay(0, 0.0), Duration::from_millis(100));
        assert_eq!(b.delay(0, 0.5), Duration::from_millis(150));
        assert_eq!(b.delay(1, 0.5), Duration::from_millis(300));
        assert_eq!(b.delay(2, 0.5), Duration::from_millis(600));
        assert_eq!(b.delay(2, 0.999), Duration::from_nanos(799_600_000));
    }

    #[test]
    fn server_errors_retry_three_times_then_give_the_last_answer() {
        let http = FakeHttp::new();
        http.script(
            "GET",
            URL,
            vec![
                reply(503, ""),
                reply(500, ""),
                reply(502, ""),
                reply(504, "x"),
            ],
        );
        let clock = FakeClock::new(0);
        let out = send(&http, &clock, DEFAULT_BACKOFF, RetryOn::ServerErrors, &get);
        assert_eq!(out.attempts, 4);
        assert_eq!(out.result.expect("an answer").status, 504);
        assert_eq!(clock.sleeps(), vec![150, 300, 600]);
    }

    #[test]
    fn a_client_error_is_final_for_the_provider_api() {
        let http = FakeHttp::new();
        http.script("GET", URL, vec![reply(400, "bad")]);
        let clock = FakeClock::new(0);
        let out = send(&http, &clock, DEFAULT_BACKOFF, RetryOn::ServerErrors, &get);
        assert_eq!(
            (out.attempts, out.result.expect("an answer").status),
            (1, 400)
        );
        assert_eq!(clock.sleeps(), Vec::<u64>::new());
    }

    #[test]
    fn transport_errors_retry_and_a_later_success_ends_the_retries() {
        let http = FakeHttp::new();
        http.script_results(
            "GET",
            URL,
            vec![
                Err(TransportError("connection refused".into())),
                Ok(reply(200, "ok")),
            ],
        );
        let clock = FakeClock::new(0);
        let out = send(&http, &clock, DEFAULT_BACKOFF, RetryOn::AnyFailure, &get);
        assert_eq!(
            (out.attempts, out.result.expect("an answer").body),
            (2, b"ok".to_vec())
        );
        assert_eq!(clock.sleeps(), vec![150]);
    }

    #[test]
    fn retry_after_is_honoured_when_longer_than_the_backoff() {
        let http = FakeHttp::new();
        let limited = reply(429, "").with_header("Retry-After", "2");
        http.script("GET", URL, vec![limited.clone(), limited, reply(200, "")]);
        let clock = FakeClock::new(0);
        let out = send(&http, &clock, DEFAULT_BACKOFF, RetryOn::ServerErrors, &get);
        assert_eq!(out.attempts, 3);
        assert_eq!(clock.sleeps(), vec![2000, 2000]);
    }

    #[test]
    fn responses_are_described_with_status_and_a_body_snippet() {
        assert_eq!(describe(&reply(502, "")), "HTTP 502");
        assert_eq!(describe(&reply(404, " gone \n")), "HTTP 404: gone");
        assert_eq!(
            describe(&reply(500, &"x".repeat(300))).len(),
            "HTTP 500: ".len() + 200
        );
    }
}
