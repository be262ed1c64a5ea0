//! Every state change of a job, recorded in the same transaction as the change, and the
//! notification of it queued for the job's callback URL.

use promptmesh_guest::db::Db;

use crate::error::Result;
use crate::jobs;
use crate::model::{Job, Transition};
use crate::outbox;
use crate::rows;

/// Why a change happened, for failures, retries and resumed runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cause<'a> {
    pub reason: Option<&'a str>,
    pub message: Option<&'a str>,
}

impl<'a> Cause<'a> {
    /// A change with a stable `reason` and a message for people.
    pub fn new(reason: &'a str, message: &'a str) -> Cause<'a> {
        Cause {
            reason: Some(reason),
            message: Some(message),
        }
    }
}

/// Whether the owner hears of a recorded change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// A state change: queued for the callback URL, if the job has one.
    Yes,
    /// The first `queued` (the submitter has the answer) or a note that is no state change.
    No,
}

/// Records `job` as it now stands (status and attempt) at `now`; returns the sequence number.
/// Run it in the transaction that changed the job.
pub fn record(db: &dyn Db, job: &Job, cause: Cause<'_>, notify: Notify, now: u64) -> Result<u32> {
    let rows = db.execute(
        "INSERT INTO job_transitions (job_id, seq, status, attempt, at, reason, message) \
         VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM job_transitions WHERE job_id = ?), \
                 ?, ?, ?, ?, ?) \
         RETURNING seq",
        &[
            job.id.as_str().into(),
            job.id.as_str().into(),
            job.status.as_str().into(),
            job.attempts.into(),
            now.into(),
            cause.reason.into(),
            cause.message.into(),
        ],
    )?;
    let seq: u32 = match rows.first() {
        Some(row) => row.get("seq")?,
        None => {
            let message = format!("recording a change of job {} returned no row", job.id);
            return Err(crate::error::Error::Internal(message));
        }
    };
    if notify == Notify::Yes
        && let Some(url) = &job.callback_url
    {
        outbox::enqueue(db, job, seq, url, now)?;
    }
    Ok(seq)
}

/// Every recorded change of job `id`, oldest first.
pub fn list(db: &dyn Db, id: &str) -> Result<Vec<Transition>> {
    jobs::get(db, id)?;
    let rows = db.execute(
        "SELECT * FROM job_transitions WHERE job_id = ? ORDER BY seq",
        &[id.into()],
    )?;
    rows.iter().map(rows::transition).collect()
}
