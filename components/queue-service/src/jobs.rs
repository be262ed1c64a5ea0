//! Submitting, reading, listing and counting jobs.

use promptmesh_guest::db::{self, Db, Value};
use promptmesh_guest::id::new_id;

use crate::admission;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::history::{self, Cause, Notify};
use crate::model::{Job, JobFilter, JobPage, JobStatus, NewJob, Submitted};
use crate::query::{self, Where};
use crate::rows;
use crate::validate;

/// Stores a new queued job, or refuses with `queue-full` (storing nothing) when the queue
/// holds its capacity. The capacity check and the insert are one transaction. With an
/// idempotency key already used by the same owner, the job that key made is returned
/// (`replayed`) when the request hash matches, and a conflict when it does not.
pub fn submit(db: &dyn Db, config: &Config, job: NewJob, now: u64) -> Result<Submitted> {
    validate::new_job(&job)?;
    let variables = rows::variables_json(&job.variables)?;
    let created_at = i64::try_from(now).unwrap_or(i64::MAX);
    let priority = created_at - config.head_start_ms(job.tier);
    let id = new_id("job");

    db::transaction(db, || {
        if let Some(earlier) = earlier_with_key(db, &job)? {
            return Ok(earlier);
        }
        admission::admit(db, config, now)?;
        let params: Vec<Value> = vec![
            id.as_str().into(),
            job.owner.as_str().into(),
            job.tier.as_str().into(),
            priority.into(),
            job.prompt.as_str().into(),
            job.template_id.as_deref().into(),
            job.template_version.into(),
            variables.as_str().into(),
            job.callback_url.as_deref().into(),
            JobStatus::Queued.as_str().into(),
            now.into(),
            now.into(),
            now.into(),
            job.idempotency_key.as_deref().into(),
            job.request_hash.as_deref().into(),
        ];
        let rows = db.execute(
            "INSERT INTO job_jobs (id, owner, tier, priority, prompt, template_id, \
             template_version, variables, callback_url, status, progress, attempts, \
             created_at, updated_at, queued_at, not_before, idempotency_key, request_hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, 0, ?, ?) RETURNING *",
            &params,
        )?;
        let stored = one(&rows, &id)?;
        history::record(db, &stored, Cause::default(), Notify::No, now)?;
        Ok(Submitted {
            job: stored,
            replayed: false,
        })
    })
}

/// The job `owner` submitted with idempotency key `key`, if any; a conflict when it came
/// with another request hash.
pub fn replay(db: &dyn Db, owner: &str, key: &str, request_hash: &str) -> Result<Option<Job>> {
    validate::idempotency_key(key)?;
    let probe = NewJob {
        owner: owner.to_owned(),
        idempotency_key: Some(key.to_owned()),
        request_hash: Some(request_hash.to_owned()),
        tier: crate::model::Tier::Free,
        prompt: String::new(),
        template_id: None,
        template_version: None,
        variables: Vec::new(),
        callback_url: None,
    };
    Ok(earlier_with_key(db, &probe)?.map(|s| s.job))
}

/// The job an earlier submission with the same owner and idempotency key made, if any.
fn earlier_with_key(db: &dyn Db, job: &NewJob) -> Result<Option<Submitted>> {
    let Some(key) = job.idempotency_key.as_deref() else {
        return Ok(None);
    };
    let rows = db.execute(
        "SELECT * FROM job_jobs WHERE owner = ? AND idempotency_key = ?",
        &[job.owner.as_str().into(), key.into()],
    )?;
    let Some(earlier) = rows.first().map(rows::job).transpose()? else {
        return Ok(None);
    };
    let stored_hash: Option<Option<String>> =
        rows.first().map(|r| r.get("request_hash")).transpose()?;
    if stored_hash.flatten() != job.request_hash {
        return Err(Error::Conflict(format!(
            "idempotency key {key:?} was used for job {} with a different request; send a new \
             key for a new request, or the same request to get that job",
            earlier.id
        )));
    }
    Ok(Some(Submitted {
        job: earlier,
        replayed: true,
    }))
}

/// The job with this id.
pub fn get(db: &dyn Db, id: &str) -> Result<Job> {
    find(db, id)?.ok_or_else(|| not_found(id))
}

/// The job with this id, if there is one.
pub fn find(db: &dyn Db, id: &str) -> Result<Option<Job>> {
    let rows = db.execute("SELECT * FROM job_jobs WHERE id = ?", &[id.into()])?;
    rows.first().map(rows::job).transpose()
}

/// The `not-found` error for a job id.
pub fn not_found(id: &str) -> Error {
    Error::NotFound(format!("job {id} does not exist"))
}

/// Jobs matching `filter`, newest first.
pub fn list(db: &dyn Db, filter: &JobFilter) -> Result<JobPage> {
    let limit = validate::page_limit(filter.limit)?;
    let after = validate::cursor_key(filter.cursor.as_deref(), "job")?;
    let clause = Where::default()
        .eq("status", filter.status.map(JobStatus::as_str))
        .eq("failure_reason", filter.failure_reason.as_deref())
        .eq("owner", filter.owner.as_deref())
        .before("id", after);
    let sql = format!(
        "SELECT * FROM job_jobs{} ORDER BY id DESC LIMIT ?",
        clause.sql()
    );
    let rows = db.execute(&sql, &clause.params_with([(limit + 1).into()]))?;
    let jobs = rows.iter().map(rows::job).collect::<Result<Vec<_>>>()?;
    let (items, next_cursor) = query::page(jobs, limit, |job| &job.id);
    Ok(JobPage { items, next_cursor })
}

/// The number of jobs in every status, in the contract's order, zeros included.
pub fn counts(db: &dyn Db) -> Result<Vec<(JobStatus, u32)>> {
    let rows = db.execute(
        "SELECT status, COUNT(*) AS n FROM job_jobs GROUP BY status",
        &[],
    )?;
    let mut counts: Vec<(JobStatus, u32)> = JobStatus::ALL.iter().map(|s| (*s, 0)).collect();
    for row in rows.iter() {
        let status: String = row.get("status")?;
        let n: u32 = row.get("n")?;
        match counts.iter_mut().find(|(s, _)| s.as_str() == status) {
            Some(entry) => entry.1 = n,
            None => {
                return Err(Error::Internal(format!(
                    "column `status` holds unknown value {status:?}"
                )));
            }
        }
    }
    Ok(counts)
}

/// The job in a `RETURNING *` result that must hold one row.
pub fn one(rows: &db::Rows, id: &str) -> Result<Job> {
    match rows.first() {
        Some(row) => rows::job(row),
        None => Err(Error::Internal(format!("writing job {id} returned no row"))),
    }
}

#[cfg(test)]
mod tests;
