//! The queue's tables. Append steps; never edit one that has been released.

use promptmesh_guest::db::{self, Db, DbError};

/// The name under which the steps are recorded in `pm_schema`.
pub const SERVICE: &str = "queue-service";

/// Schema versions 1.. in order.
pub const STEPS: &[&str] = &[
    "CREATE TABLE job_jobs (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        tier TEXT NOT NULL,
        priority INTEGER NOT NULL,
        prompt TEXT NOT NULL,
        template_id TEXT,
        template_version INTEGER,
        variables TEXT NOT NULL,
        callback_url TEXT,
        status TEXT NOT NULL,
        progress INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        failure_reason TEXT,
        failure_message TEXT,
        provider_task_id TEXT,
        image_id TEXT,
        lease_owner TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER
    )",
    // Leasing takes the first queued job by (priority, id).
    "CREATE INDEX job_jobs_queue ON job_jobs (status, priority, id)",
    "CREATE INDEX job_jobs_owner ON job_jobs (owner, id)",
    // The drain rate counts jobs finished in the last minute.
    "CREATE INDEX job_jobs_finished ON job_jobs (finished_at)",
    // One image per job at most.
    "CREATE TABLE job_images (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        template_id TEXT,
        template_version INTEGER,
        prompt TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        created_at INTEGER NOT NULL
    )",
    "CREATE INDEX job_images_template ON job_images (template_id, id)",
    "CREATE INDEX job_images_owner ON job_images (owner, id)",
    // Bytes apart from the metadata, so that listing never reads them.
    "CREATE TABLE job_image_bytes (
        image_id TEXT PRIMARY KEY,
        bytes BLOB NOT NULL
    )",
    // Leases: a worker holds a running or storing job until `lease_expires_at`.
    "ALTER TABLE job_jobs ADD COLUMN lease_expires_at INTEGER",
    // A retried job waits in the queue until `not_before`.
    "ALTER TABLE job_jobs ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0",
    // The queue-wait timeout counts from `queued_at`.
    "ALTER TABLE job_jobs ADD COLUMN queued_at INTEGER NOT NULL DEFAULT 0",
    "UPDATE job_jobs SET queued_at = created_at",
    // The run timeout counts from the provider task's submission, across workers.
    "ALTER TABLE job_jobs ADD COLUMN run_started_at INTEGER",
    // What the provider reported, so that a resumed run and callbacks see it.
    "ALTER TABLE job_jobs ADD COLUMN provider_status TEXT",
    "ALTER TABLE job_jobs ADD COLUMN provider_image_url TEXT",
    "ALTER TABLE job_jobs ADD COLUMN provider_fail_reason TEXT",
    // Idempotent submission: one job per owner and key.
    "ALTER TABLE job_jobs ADD COLUMN idempotency_key TEXT",
    "ALTER TABLE job_jobs ADD COLUMN request_hash TEXT",
    "CREATE UNIQUE INDEX job_jobs_idempotency ON job_jobs (owner, idempotency_key) \
     WHERE idempotency_key IS NOT NULL",
    // Every state change, in order.
    "CREATE TABLE job_transitions (
        job_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        at INTEGER NOT NULL,
        reason TEXT,
        message TEXT,
        PRIMARY KEY (job_id, seq)
    )",
    // The outbox of signed notifications to callback URLs, written with the state change.
    "CREATE TABLE job_notifications (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        url TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        claimed_by TEXT,
        last_error TEXT,
        delivered_at INTEGER,
        UNIQUE (job_id, seq)
    )",
    "CREATE INDEX job_notifications_due ON job_notifications (state, next_attempt_at)",
    // Leasing also looks for running and storing jobs whose lease ended.
    "CREATE INDEX job_jobs_leases ON job_jobs (status, lease_expires_at)",
];

/// Creates or updates the queue's tables.
pub fn migrate(db: &dyn Db) -> Result<(), DbError> {
    db::migrate(db, SERVICE, STEPS)
}

/// A migrated in-memory database for tests.
#[cfg(test)]
pub fn test_db() -> promptmesh_guest::db::NativeDb {
    let db = promptmesh_guest::db::NativeDb::memory();
    migrate(&db).expect("the schema applies to an empty database");
    db
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_keeps_the_tables() {
        let db = test_db();
        migrate(&db).expect("second run is a no-op");
        let tables = db
            .execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'job_%' \
                 ORDER BY name",
                &[],
            )
            .expect("list tables");
        let names: Vec<String> = tables
            .iter()
            .map(|row| row.get("name").expect("text name"))
            .collect();
        assert_eq!(
            names,
            [
                "job_image_bytes",
                "job_images",
                "job_jobs",
                "job_notifications",
                "job_transitions"
            ]
        );
    }
}
