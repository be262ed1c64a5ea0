//! The component: exports `promptmesh:jobs/queue@0.1.0` and `promptmesh:jobs/images@0.1.0`
//! over Spin's SQLite database `default`, converting between the WIT types and the
//! service's records and reading the settings from Spin variables.

wit_bindgen::generate!({
    world: "queue-service",
    path: "../../wit/services",
    generate_all,
});

use exports::promptmesh::jobs::images::Guest as ImagesGuest;
use exports::promptmesh::jobs::queue::Guest as QueueGuest;
use promptmesh::jobs::types as wit;
use promptmesh_guest::db::SpinDb;
use promptmesh_guest::time::now_ms;

use crate::config::Config;
use crate::error::{Error, FieldError};
use crate::images::{self, NewImage};
use crate::model;
use crate::{history, jobs, lease, lifecycle, outbox, provider_events, schema};

struct QueueService;

impl QueueGuest for QueueService {
    fn submit(job: wit::NewJob) -> Result<wit::Submitted, wit::Error> {
        let job = model::NewJob {
            owner: job.owner,
            tier: tier_from_wit(job.tier),
            prompt: job.prompt,
            template_id: job.template_id,
            template_version: job.template_version,
            variables: job
                .variables
                .into_iter()
                .map(|v| model::Variable {
                    name: v.name,
                    value: v.value,
                })
                .collect(),
            callback_url: job.callback_url,
            idempotency_key: job.idempotency_key,
            request_hash: job.request_hash,
        };
        let submitted = jobs::submit(&open()?, &config()?, job, now_ms())?;
        Ok(wit::Submitted {
            job: submitted.job.into(),
            replayed: submitted.replayed,
        })
    }

    fn replay(
        owner: String,
        idempotency_key: String,
        request_hash: String,
    ) -> Result<Option<wit::Job>, wit::Error> {
        let job = jobs::replay(&open()?, &owner, &idempotency_key, &request_hash)?;
        Ok(job.map(Into::into))
    }

    fn get(id: String) -> Result<wit::Job, wit::Error> {
        Ok(jobs::get(&open()?, &id)?.into())
    }

    fn list_jobs(filter: wit::JobFilter) -> Result<wit::JobPage, wit::Error> {
        let filter = model::JobFilter {
            status: filter.status.map(status_from_wit),
            failure_reason: filter.failure_reason,
            owner: filter.owner,
            limit: filter.limit,
            cursor: filter.cursor,
        };
        let page = jobs::list(&open()?, &filter)?;
        Ok(wit::JobPage {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn history(id: String) -> Result<Vec<wit::Transition>, wit::Error> {
        let changes = history::list(&open()?, &id)?;
        Ok(changes.into_iter().map(Into::into).collect())
    }

    fn cancel(id: String) -> Result<wit::Job, wit::Error> {
        Ok(lifecycle::cancel(&open()?, &id, now_ms())?.into())
    }

    fn requeue(id: String) -> Result<wit::Job, wit::Error> {
        Ok(lifecycle::requeue(&open()?, &id, now_ms())?.into())
    }

    fn lease(worker: String, lease_ms: u32) -> Result<Option<wit::Job>, wit::Error> {
        let job = lease::lease(&open()?, &config()?, &worker, lease_ms, now_ms())?;
        Ok(job.map(Into::into))
    }

    fn renew(id: String, worker: String, lease_ms: u32) -> Result<wit::Job, wit::Error> {
        Ok(lease::renew(&open()?, &id, &worker, lease_ms, now_ms())?.into())
    }

    fn progress(
        id: String,
        worker: String,
        provider_task_id: String,
        progress: u8,
    ) -> Result<wit::Job, wit::Error> {
        let db = open()?;
        let job = lifecycle::progress(&db, &id, &worker, &provider_task_id, progress, now_ms())?;
        Ok(job.into())
    }

    fn storing(id: String, worker: String, image_url: String) -> Result<wit::Job, wit::Error> {
        Ok(lifecycle::storing(&open()?, &id, &worker, &image_url, now_ms())?.into())
    }

    fn succeed(id: String, worker: String, image_id: String) -> Result<wit::Job, wit::Error> {
        Ok(lifecycle::succeed(&open()?, &id, &worker, &image_id, now_ms())?.into())
    }

    fn fail(
        id: String,
        worker: String,
        reason: String,
        message: String,
    ) -> Result<wit::Job, wit::Error> {
        let job = lifecycle::fail(&open()?, &id, &worker, &reason, &message, now_ms())?;
        Ok(job.into())
    }

    fn retry(
        id: String,
        worker: String,
        reason: String,
        message: String,
        delay_ms: u32,
    ) -> Result<wit::Job, wit::Error> {
        let attempt = lease::Retry {
            id: &id,
            worker: &worker,
            reason: &reason,
            message: &message,
            delay_ms,
        };
        Ok(lease::retry(&open()?, &config()?, attempt, now_ms())?.into())
    }

    fn provider_event(
        job_id: String,
        report: wit::ProviderReport,
    ) -> Result<Option<wit::Job>, wit::Error> {
        let report = model::ProviderReport {
            task_id: report.task_id,
            status: report.status,
            progress: report.progress,
            image_url: report.image_url,
            fail_reason: report.fail_reason,
        };
        let job = provider_events::record(&open()?, &job_id, &report, now_ms())?;
        Ok(job.map(Into::into))
    }

    fn counts() -> Result<Vec<(wit::JobStatus, u32)>, wit::Error> {
        let counts = jobs::counts(&open()?)?;
        Ok(counts
            .into_iter()
            .map(|(status, n)| (status_to_wit(status), n))
            .collect())
    }

    fn claim_notifications(
        worker: String,
        limit: u32,
    ) -> Result<Vec<wit::Notification>, wit::Error> {
        let claimed = outbox::claim(&open()?, &worker, limit, now_ms())?;
        Ok(claimed.into_iter().map(Into::into).collect())
    }

    fn notification_delivered(id: String) -> Result<wit::Notification, wit::Error> {
        Ok(outbox::delivered(&open()?, &id, now_ms())?.into())
    }

    fn notification_failed(id: String, error: String) -> Result<wit::Notification, wit::Error> {
        let db = open()?;
        let failed = outbox::failed(&db, &config()?, &id, &error, now_ms(), jitter())?;
        Ok(failed.into())
    }

    fn notifications(job_id: String) -> Result<Vec<wit::Notification>, wit::Error> {
        let all = outbox::list(&open()?, &job_id)?;
        Ok(all.into_iter().map(Into::into).collect())
    }
}

/// A number in `[0, 1)` that spreads retries apart; without randomness, the middle.
fn jitter() -> f64 {
    getrandom::u64().map_or(0.5, |bits| (bits >> 11) as f64 / (1u64 << 53) as f64)
}

impl ImagesGuest for QueueService {
    fn store(
        job_id: String,
        content_type: String,
        width: u32,
        height: u32,
        bytes: Vec<u8>,
    ) -> Result<wit::Image, wit::Error> {
        let new = NewImage {
            job_id: &job_id,
            content_type: &content_type,
            width,
            height,
            bytes: &bytes,
        };
        Ok(images::store(&open()?, new, now_ms())?.into())
    }

    fn get(id: String) -> Result<wit::Image, wit::Error> {
        Ok(images::get(&open()?, &id)?.into())
    }

    fn bytes(id: String) -> Result<Vec<u8>, wit::Error> {
        Ok(images::bytes(&open()?, &id)?)
    }

    fn list_images(filter: wit::ImageFilter) -> Result<wit::ImagePage, wit::Error> {
        let filter = model::ImageFilter {
            template_id: filter.template_id,
            job_id: filter.job_id,
            owner: filter.owner,
            limit: filter.limit,
            cursor: filter.cursor,
        };
        let page = images::list(&open()?, &filter)?;
        Ok(wit::ImagePage {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
        })
    }
}

/// The database `default`, with the queue's tables in place.
fn open() -> Result<SpinDb, Error> {
    let db = SpinDb::open_default()?;
    schema::migrate(&db)?;
    Ok(db)
}

/// The settings, from Spin variables; an undefined variable takes its default.
fn config() -> Result<Config, Error> {
    Config::from_variables(|name| match spin_sdk::variables::get(name) {
        Ok(value) => Ok(Some(value)),
        Err(spin_sdk::variables::Error::Undefined(_)) => Ok(None),
        Err(e) => Err(Error::Internal(format!(
            "reading variable `{name}` failed: {e}"
        ))),
    })
}

fn tier_from_wit(tier: wit::Tier) -> model::Tier {
    match tier {
        wit::Tier::Free => model::Tier::Free,
        wit::Tier::Premium => model::Tier::Premium,
        wit::Tier::Admin => model::Tier::Admin,
    }
}

fn tier_to_wit(tier: model::Tier) -> wit::Tier {
    match tier {
        model::Tier::Free => wit::Tier::Free,
        model::Tier::Premium => wit::Tier::Premium,
        model::Tier::Admin => wit::Tier::Admin,
    }
}

fn status_from_wit(status: wit::JobStatus) -> model::JobStatus {
    match status {
        wit::JobStatus::Queued => model::JobStatus::Queued,
        wit::JobStatus::Running => model::JobStatus::Running,
        wit::JobStatus::Storing => model::JobStatus::Storing,
        wit::JobStatus::Succeeded => model::JobStatus::Succeeded,
        wit::JobStatus::Failed => model::JobStatus::Failed,
        wit::JobStatus::Canceled => model::JobStatus::Canceled,
    }
}

fn status_to_wit(status: model::JobStatus) -> wit::JobStatus {
    match status {
        model::JobStatus::Queued => wit::JobStatus::Queued,
        model::JobStatus::Running => wit::JobStatus::Running,
        model::JobStatus::Storing => wit::JobStatus::Storing,
        model::JobStatus::Succeeded => wit::JobStatus::Succeeded,
        model::JobStatus::Failed => wit::JobStatus::Failed,
        model::JobStatus::Canceled => wit::JobStatus::Canceled,
    }
}

impl From<model::Job> for wit::Job {
    fn from(j: model::Job) -> Self {
        wit::Job {
            id: j.id,
            owner: j.owner,
            tier: tier_to_wit(j.tier),
            priority: j.priority,
            prompt: j.prompt,
            template_id: j.template_id,
            template_version: j.template_version,
            variables: j
                .variables
                .into_iter()
                .map(|v| wit::Variable {
                    name: v.name,
                    value: v.value,
                })
                .collect(),
            callback_url: j.callback_url,
            status: status_to_wit(j.status),
            progress: j.progress,
            attempts: j.attempts,
            failure_reason: j.failure_reason,
            failure_message: j.failure_message,
            provider_task_id: j.provider_task_id,
            image_id: j.image_id,
            created_at: j.created_at,
            updated_at: j.updated_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
            lease_owner: j.lease_owner,
            lease_expires_at: j.lease_expires_at,
            run_started_at: j.run_started_at,
            not_before: j.not_before,
            queued_at: j.queued_at,
            provider_status: j.provider_status,
            provider_image_url: j.provider_image_url,
            provider_fail_reason: j.provider_fail_reason,
            idempotency_key: j.idempotency_key,
        }
    }
}

impl From<model::Transition> for wit::Transition {
    fn from(t: model::Transition) -> Self {
        wit::Transition {
            seq: t.seq,
            status: status_to_wit(t.status),
            attempt: t.attempt,
            at: t.at,
            reason: t.reason,
            message: t.message,
        }
    }
}

impl From<model::Notification> for wit::Notification {
    fn from(n: model::Notification) -> Self {
        wit::Notification {
            id: n.id,
            job_id: n.job_id,
            seq: n.seq,
            url: n.url,
            body: n.body,
            state: match n.state {
                model::NotificationState::Pending => wit::NotificationState::Pending,
                model::NotificationState::Delivered => wit::NotificationState::Delivered,
                model::NotificationState::Abandoned => wit::NotificationState::Abandoned,
            },
            attempts: n.attempts,
            next_attempt_at: n.next_attempt_at,
            last_error: n.last_error,
            delivered_at: n.delivered_at,
        }
    }
}

impl From<model::Image> for wit::Image {
    fn from(i: model::Image) -> Self {
        wit::Image {
            id: i.id,
            job_id: i.job_id,
            owner: i.owner,
            template_id: i.template_id,
            template_version: i.template_version,
            prompt: i.prompt,
            content_type: i.content_type,
            size: i.size,
            sha256: i.sha256,
            width: i.width,
            height: i.height,
            created_at: i.created_at,
        }
    }
}

impl From<Error> for wit::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(m) => wit::Error::NotFound(m),
            Error::Invalid(FieldError {
                field,
                code,
                message,
            }) => wit::Error::Invalid(wit::FieldError {
                field,
                code,
                message,
            }),
            Error::Conflict(m) => wit::Error::Conflict(m),
            Error::QueueFull(seconds) => wit::Error::QueueFull(seconds),
            Error::Internal(m) => wit::Error::Internal(m),
        }
    }
}

export!(QueueService);
