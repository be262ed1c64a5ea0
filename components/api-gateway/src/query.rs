//! Query parameters of the listing endpoints, validated into typed structs: an unknown,
//! repeated or bad parameter is 400 `invalid_query` with field `query.<name>`. An empty
//! value (`?q=`) counts as absent.

use promptmesh_guest::cursor;

use crate::error::ApiError;
use crate::model::JobStatus;

/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 20;
/// The largest `limit`.
pub const MAX_LIMIT: u32 = 100;

/// `limit` and `cursor` of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub limit: u32,
    pub cursor: Option<String>,
}

/// `GET /api/templates?q=&tag=&limit=&cursor=`.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateQuery {
    pub text: Option<String>,
    pub tag: Option<String>,
    pub page: Page,
}

/// `GET /api/jobs?status=&limit=&cursor=`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobQuery {
    pub status: Option<JobStatus>,
    /// Only jobs that failed for this reason, e.g. `attempts_exhausted` (the dead letters).
    pub reason: Option<String>,
    pub page: Page,
}

/// `GET /api/images?template=&job=&limit=&cursor=`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageQuery {
    pub template: Option<String>,
    pub job: Option<String>,
    pub page: Page,
}

/// The decoded parameters of one query string.
struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `query`, refusing names outside `allowed` and repeated names.
    fn parse(query: &str, allowed: &[&str]) -> Result<Params, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if !allowed.contains(&name.as_ref()) {
                let names: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
                return Err(ApiError::invalid_query(
                    &name,
                    format!("unknown query parameter `{name}`; use {}", names.join(", ")),
                ));
            }
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(ApiError::invalid_query(
                    &name,
                    format!("query parameter `{name}` is given twice; give it once"),
                ));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(Params(pairs))
    }

    /// The non-empty value of `name`.
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    }

    fn page(&self) -> Result<Page, ApiError> {
        Ok(Page {
            limit: self.limit()?,
            cursor: self.cursor()?,
        })
    }

    fn limit(&self) -> Result<u32, ApiError> {
        let Some(value) = self.get("limit") else {
            return Ok(DEFAULT_LIMIT);
        };
        value
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_query(
                    "limit",
                    format!("limit `{value}` is not a whole number from 1 to {MAX_LIMIT}"),
                )
            })
    }

    fn cursor(&self) -> Result<Option<String>, ApiError> {
        match self.get("cursor") {
            Some(value) if cursor::decode(&value).is_none() => Err(ApiError::invalid_query(
                "cursor",
                format!("cursor `{value}` is not one this API made; pass `next_cursor` as given"),
            )),
            other => Ok(other),
        }
    }
}

/// `GET /api/templates`.
pub fn templates(query: &str) -> Result<TemplateQuery, ApiError> {
    let params = Params::parse(query, &["q", "tag", "limit", "cursor"])?;
    Ok(TemplateQuery {
        text: params.get("q"),
        tag: params.get("tag"),
        page: params.page()?,
    })
}

/// `GET /api/jobs`.
pub fn jobs(query: &str) -> Result<JobQuery, ApiError> {
    let params = Params::parse(query, &["status", "reason", "limit", "cursor"])?;
    let status = match params.get("status") {
        None => None,
        Some(value) => Some(JobStatus::parse(&value).ok_or_else(|| {
            let names: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::invalid_query(
                "status",
                format!(
                    "status `{value}` does not exist; use one of {}",
                    names.join(", ")
                ),
            )
        })?),
    };
    let reason = match params.get("reason") {
        None => None,
        Some(value) if FAILURE_REASONS.contains(&value.as_str()) => Some(value),
        Some(value) => {
            return Err(ApiError::invalid_query(
                "reason",
                format!(
                    "reason `{value}` is not a failure reason; use one of {}",
                    FAILURE_REASONS.join(", ")
                ),
            ));
        }
    };
    Ok(JobQuery {
        status,
        reason,
        page: params.page()?,
    })
}

/// The reasons a job fails for, as the queue and the worker record them.
pub const FAILURE_REASONS: [&str; 7] = [
    "attempts_exhausted",
    "queue_timeout",
    "run_timeout",
    "moderation",
    "provider_failed",
    "provider_error",
    "download_failed",
];

/// `GET /api/images`.
pub fn images(query: &str) -> Result<ImageQuery, ApiError> {
    let params = Params::parse(query, &["template", "job", "limit", "cursor"])?;
    Ok(ImageQuery {
        template: params.get("template"),
        job: params.get("job"),
        page: params.page()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(error: ApiError) -> (u16, String, Option<String>) {
        (error.status, error.code, error.field)
    }

    #[test]
    fn template_queries_default_the_page_and_decode_values() {
        assert_eq!(
            templates("q=red+fox&tag=animal%20life"),
            Ok(TemplateQuery {
                text: Some("red fox".into()),
                tag: Some("animal life".into()),
                page: Page {
                    limit: 20,
                    cursor: None
                },
            })
        );
        assert_eq!(
            templates("q=&tag=&limit=&cursor="),
            Ok(TemplateQuery {
                text: None,
                tag: None,
                page: Page {
                    limit: 20,
                    cursor: None
                },
            })
        );
    }

    #[test]
    fn limits_run_from_one_to_a_hundred() {
        assert_eq!(templates("limit=1").map(|q| q.page.limit), Ok(1));
        assert_eq!(templates("limit=100").map(|q| q.page.limit), Ok(100));
        for bad in ["0", "101", "-1", "ten", "2.5"] {
            let error = templates(&format!("limit={bad}")).expect_err(bad);
            assert_eq!(
                field(error.clone()),
                (400, "invalid_query".into(), Some("query.limit".into()))
            );
            assert_eq!(
                error.message,
                format!("limit `{bad}` is not a whole number from 1 to 100")
            );
        }
    }

    #[test]
    fn cursors_must_be_ones_the_api_made() {
        let cursor = cursor::encode("tpl_1");
        assert_eq!(
            templates(&format!("cursor={cursor}")).map(|q| q.page.cursor),
            Ok(Some(cursor))
        );
        let error = templates("cursor=not*base64").expect_err("garbage");
        assert_eq!(error.field.as_deref(), Some("query.cursor"));
    }

    #[test]
    fn a_failure_reason_must_be_one_the_pipeline_records() {
        let query = jobs("status=failed&reason=attempts_exhausted").expect("valid");
        assert_eq!(query.reason.as_deref(), Some("attempts_exhausted"));
        let error = jobs("reason=bogus").expect_err("unknown reason");
        assert_eq!(
            field(error.clone()),
            (400, "invalid_query".into(), Some("query.reason".into()))
        );
        assert_eq!(
            error.message,
            "reason `bogus` is not a failure reason; use one of attempts_exhausted, \
             queue_timeout, run_timeout, moderation, provider_failed, provider_error, \
             download_failed"
        );
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        let error = jobs("stauts=queued").expect_err("typo");
        assert_eq!(
            field(error.clone()),
            (400, "invalid_query".into(), Some("query.stauts".into()))
        );
        assert_eq!(
            error.message,
            "unknown query parameter `stauts`; use `status`, `reason`, `limit`, `cursor`"
        );
        let twice = images("job=a&job=b").expect_err("twice");
        assert_eq!(twice.field.as_deref(), Some("query.job"));
    }

    #[test]
    fn job_statuses_are_checked() {
        assert_eq!(
            jobs("status=succeeded").map(|q| q.status),
            Ok(Some(JobStatus::Succeeded))
        );
        let error = jobs("status=done").expect_err("no such status");
        assert_eq!(
            field(error.clone()),
            (400, "invalid_query".into(), Some("query.status".into()))
        );
        assert_eq!(
            error.message,
            "status `done` does not exist; use one of queued, running, storing, succeeded, \
             failed, canceled"
        );
    }

    #[test]
    fn image_queries_filter_by_template_and_job() {
        assert_eq!(
            images("template=tpl_1&job=job_2&limit=5"),
            Ok(ImageQuery {
                template: Some("tpl_1".into()),
                job: Some("job_2".into()),
                page: Page {
                    limit: 5,
                    cursor: None
                },
            })
        );
    }
}
