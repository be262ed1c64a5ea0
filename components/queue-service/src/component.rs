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
use crate::{jobs, lifecycle, schema};

struct QueueService;

impl QueueGuest for QueueService {
    fn submit(job: wit::NewJob) -> Result<wit::Job, wit::Error> {
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
        };
        let config = config()?;
        Ok(jobs::submit(&open()?, &config, job, now_ms())?.into())
    }

    fn get(id: String) -> Result<wit::Job, wit::Error> {
        Ok(jobs::get(&open()?, &id)?.into())
    }

    fn list_jobs(filter: wit::JobFilter) -> Result<wit::JobPage, wit::Error> {
        let filter = model::JobFilter {
            status: filter.status.map(status_from_wit),
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

    fn cancel(id: String) -> Result<wit::Job, wit::Error> {
        Ok(lifecycle::cancel(&open()?, &id, now_ms())?.into())
    }

    fn lease(worker: String) -> Result<Option<wit::Job>, wit::Error> {
        Ok(lifecycle::lease(&open()?, &worker, now_ms())?.map(Into::into))
    }

    fn progress(
        id: String,
        provider_task_id: String,
        progress: u8,
    ) -> Result<wit::Job, wit::Error> {
        let db = open()?;
        Ok(lifecycle::progress(&db, &id, &provider_task_id, progress, now_ms())?.into())
    }

    fn storing(id: String) -> Result<wit::Job, wit::Error> {
        Ok(lifecycle::storing(&open()?, &id, now_ms())?.into())
    }

    fn succeed(id: String, image_id: String) -> Result<wit::Job, wit::Error> {
        Ok(lifecycle::succeed(&open()?, &id, &image_id, now_ms())?.into())
    }

    fn fail(id: String, reason: String, message: String) -> Result<wit::Job, wit::Error> {
        Ok(lifecycle::fail(&open()?, &id, &reason, &message, now_ms())?.into())
    }

    fn counts() -> Result<Vec<(wit::JobStatus, u32)>, wit::Error> {
        let counts = jobs::counts(&open()?)?;
        Ok(counts
            .into_iter()
            .map(|(status, n)| (status_to_wit(status), n))
            .collect())
    }
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
