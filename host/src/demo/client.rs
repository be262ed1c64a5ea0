//! A small client of the REST API, as the demo uses it: JSON in and out, a key per call, and
//! patience with `429` (it waits `Retry-After` and tries again).

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// How long one `429` may make the client wait before it gives up.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(90);
/// How many `429`s in a row one call accepts.
const MAX_RETRIES: u32 = 5;

/// The API of one running application.
#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

/// A response: status and JSON body (`null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// Sends one request, waiting out rate limits and a full queue.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let mut retries = 0;
        loop {
            let answer = self.send(method.clone(), path, key, body).await?;
            if answer.0.status != StatusCode::TOO_MANY_REQUESTS || retries == MAX_RETRIES {
                return Ok(answer.0);
            }
            retries += 1;
            let wait = answer
                .1
                .unwrap_or(Duration::from_secs(1))
                .min(MAX_RETRY_AFTER);
            tokio::time::sleep(wait).await;
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(Answer, Option<Duration>)> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.context("reading the response")?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .with_context(|| format!("{method} {path} answered {status} with non-JSON"))?
        };
        Ok((Answer { status, body }, retry_after))
    }

    /// Calls and insists on `expected`, else fails with the API's error.
    pub async fn expect(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        let answer = self.call(method.clone(), path, key, body).await?;
        if answer.status != expected {
            bail!(
                "{method} {path}: expected {expected}, got {}: {}",
                answer.status,
                answer.body
            );
        }
        Ok(answer.body)
    }

    /// Waits until `/readyz` answers 200, for at most `limit`.
    pub async fn wait_ready(&self, limit: Duration) -> anyhow::Result<()> {
        let start = std::time::Instant::now();
        loop {
            let url = format!("{}/readyz", self.base);
            let ready = self.http.get(&url).send().await;
            if matches!(&ready, Ok(r) if r.status() == StatusCode::OK) {
                return Ok(());
            }
            if start.elapsed() > limit {
                bail!("{url} did not answer 200 within {} s", limit.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Creates an API key of `tier` and returns the key itself.
    pub async fn create_key(&self, admin: &str, name: &str, tier: &str) -> anyhow::Result<String> {
        let body = json!({ "name": name, "tier": tier });
        let created = self
            .expect(
                Method::POST,
                "/api/keys",
                admin,
                Some(&body),
                StatusCode::CREATED,
            )
            .await?;
        string(&created, "key")
    }
}

/// Field `name` of `value` as a string.
pub fn string(value: &Value, name: &str) -> anyhow::Result<String> {
    value[name]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("field `{name}` missing in {value}"))
}
