//! Notifications of state changes to callback URLs, kept in an outbox written with each
//! change so that none is lost to a crash: workers claim the due ones, deliver them signed,
//! and report how it went; a failure is retried with backoff until `notify_max_attempts`,
//! then the notification is abandoned and kept as the record of it.
//!
//! The event id and body are fixed when the change happens, so every delivery of one change
//! carries the same id and bytes and a receiver can drop duplicates (C14). Events of one job
//! are delivered in order: a job's later event waits until the earlier one is settled.

use promptmesh_guest::db::Db;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::{Job, Notification};
use crate::rows;

/// How long a claimed notification is held for its worker before another may take it, in
/// milliseconds.
pub const CLAIM_MS: u64 = 60_000;
/// The most notifications one claim returns.
pub const MAX_CLAIM: u32 = 100;

/// The stable id of the event "job `job_id` made its `seq`-th change".
pub fn event_id(job_id: &str, seq: u32) -> String {
    let digest = hex::encode(Sha256::digest(format!("{job_id}:{seq}")));
    format!("evt_{}", &digest[..24])
}

/// Queues the notification of change `seq` of `job` (as it stands after the change) to `url`.
pub fn enqueue(db: &dyn Db, job: &Job, seq: u32, url: &str, now: u64) -> Result<()> {
    let id = event_id(&job.id, seq);
    db.execute(
        "INSERT INTO job_notifications (id, job_id, seq, url, body, state, attempts, \
         next_attempt_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)",
        &[
            id.as_str().into(),
            job.id.as_str().into(),
            seq.into(),
            url.into(),
            body(&id, job, seq, now).into(),
            now.into(),
        ],
    )?;
    Ok(())
}

/// The event's JSON body.
pub fn body(id: &str, job: &Job, seq: u32, at: u64) -> String {
    let status = job.status.as_str();
    let template = job
        .template_id
        .as_ref()
        .map(|t| json!({ "id": t, "version": job.template_version }));
    let failure = job.failure_reason.as_ref().map(|reason| {
        json!({ "reason": reason, "message": job.failure_message.clone().unwrap_or_default() })
    });
    let image = job
        .image_id
        .as_ref()
        .map(|i| json!({ "id": i, "url": format!("/api/images/{i}") }));
    json!({
        "id": id,
        "type": format!("job.{status}"),
        "sequence": seq,
        "created_at": rfc3339(at),
        "job": {
            "id": job.id,
            "status": status,
            "progress": job.progress,
            "prompt": job.prompt,
            "template": template,
            "attempts": job.attempts,
            "failure": failure,
            "image": image,
            "provider_task_id": job.provider_task_id,
            "status_url": format!("/api/jobs/{}", job.id),
            "created_at": rfc3339(job.created_at),
            "finished_at": job.finished_at.map(rfc3339),
        },
    })
    .to_string()
}

fn rfc3339(ms: u64) -> Value {
    Value::String(promptmesh_guest::time::rfc3339(ms))
}

/// Takes up to `limit` due notifications for `worker`: for each job only its earliest
/// pending one, oldest due first. They are held for [`CLAIM_MS`].
pub fn claim(db: &dyn Db, worker: &str, limit: u32, now: u64) -> Result<Vec<Notification>> {
    let limit = limit.clamp(1, MAX_CLAIM);
    let rows = db.execute(
        "UPDATE job_notifications SET claimed_by = ?, next_attempt_at = ? \
         WHERE id IN ( \
             SELECT n.id FROM job_notifications n \
             WHERE n.state = 'pending' AND n.next_attempt_at <= ? \
               AND n.seq = (SELECT MIN(m.seq) FROM job_notifications m \
                            WHERE m.job_id = n.job_id AND m.state = 'pending') \
             ORDER BY n.next_attempt_at, n.id LIMIT ?) \
         RETURNING *",
        &[
            worker.into(),
            (now + CLAIM_MS).into(),
            now.into(),
            limit.into(),
        ],
    )?;
    let mut claimed = rows
        .iter()
        .map(rows::notification)
        .collect::<Result<Vec<_>>>()?;
    claimed.sort_by(|a, b| (&a.job_id, a.seq).cmp(&(&b.job_id, b.seq)));
    Ok(claimed)
}

/// Records a delivery that the receiver accepted.
pub fn delivered(db: &dyn Db, id: &str, now: u64) -> Result<Notification> {
    settle(
        db,
        id,
        "state = 'delivered', attempts = attempts + 1, delivered_at = ?, claimed_by = NULL",
        vec![now.into()],
    )
}

/// Records a failed delivery: the next one is due after the backoff, or, after the last
/// attempt, the notification is abandoned.
pub fn failed(
    db: &dyn Db,
    config: &Config,
    id: &str,
    error: &str,
    now: u64,
    jitter: f64,
) -> Result<Notification> {
    let current = get(db, id)?;
    let attempts = current.attempts + 1;
    if attempts >= config.notify_max_attempts {
        return settle(
            db,
            id,
            "state = 'abandoned', attempts = attempts + 1, last_error = ?, claimed_by = NULL",
            vec![error.into()],
        );
    }
    let next = now + config.notify_backoff(attempts, jitter);
    settle(
        db,
        id,
        "attempts = attempts + 1, last_error = ?, next_attempt_at = ?, claimed_by = NULL",
        vec![error.into(), next.into()],
    )
}

/// Applies `set` to pending notification `id`; a settled one is a conflict.
fn settle(
    db: &dyn Db,
    id: &str,
    set: &str,
    mut params: Vec<promptmesh_guest::db::Value>,
) -> Result<Notification> {
    params.push(id.into());
    let sql = format!(
        "UPDATE job_notifications SET {set} WHERE id = ? AND state = 'pending' RETURNING *"
    );
    let rows = db.execute(&sql, &params)?;
    if let Some(row) = rows.first() {
        return rows::notification(row);
    }
    let current = get(db, id)?;
    Err(Error::Conflict(format!(
        "notification {id} is {}; only a pending notification records a delivery",
        current.state.as_str()
    )))
}

/// The notification with this id.
pub fn get(db: &dyn Db, id: &str) -> Result<Notification> {
    let rows = db.execute("SELECT * FROM job_notifications WHERE id = ?", &[id.into()])?;
    match rows.first() {
        Some(row) => rows::notification(row),
        None => Err(Error::NotFound(format!("notification {id} does not exist"))),
    }
}

/// The notifications of job `job_id`, in the order of its changes.
pub fn list(db: &dyn Db, job_id: &str) -> Result<Vec<Notification>> {
    crate::jobs::get(db, job_id)?;
    let rows = db.execute(
        "SELECT * FROM job_notifications WHERE job_id = ? ORDER BY seq",
        &[job_id.into()],
    )?;
    rows.iter().map(rows::notification).collect()
}

#[cfg(test)]
mod tests;
