//! Provider callbacks: what a provider posted about a task is recorded on the job whose
//! current task has that id, for the worker that follows the task (or the next one, after
//! a crash) to act on. Tasks are matched by id only, never by prompt text (C01); an event
//! for another task, or for a final job, changes nothing.

use promptmesh_guest::db::{self, Db};

use crate::error::{Error, Result};
use crate::jobs;
use crate::model::{Job, ProviderReport};

/// Records `report` on job `job_id` if its current provider task is `report.task_id`;
/// `None` when it is not. A final job is returned unchanged.
pub fn record(db: &dyn Db, job_id: &str, report: &ProviderReport, now: u64) -> Result<Option<Job>> {
    check(report)?;
    db::transaction(db, || {
        let job = jobs::get(db, job_id)?;
        if job.provider_task_id.as_deref() != Some(report.task_id.as_str()) {
            return Ok(None);
        }
        if job.status.is_final() {
            return Ok(Some(job));
        }
        let rows = db.execute(
            "UPDATE job_jobs SET provider_status = ?, \
             provider_image_url = COALESCE(?, provider_image_url), \
             provider_fail_reason = COALESCE(?, provider_fail_reason), \
             progress = MIN(100, MAX(progress, ?)), updated_at = ? \
             WHERE id = ? RETURNING *",
            &[
                report.status.as_str().into(),
                report.image_url.as_deref().into(),
                report.fail_reason.as_deref().into(),
                report.progress.unwrap_or(0).into(),
                now.into(),
                job_id.into(),
            ],
        )?;
        jobs::one(&rows, job_id).map(Some)
    })
}

fn check(report: &ProviderReport) -> Result<()> {
    if report.task_id.trim().is_empty() {
        return Err(Error::invalid(
            "id",
            "required",
            "the callback names no task; the provider's body must carry the task `id`",
        ));
    }
    if report.status.trim().is_empty() {
        return Err(Error::invalid(
            "status",
            "required",
            "the callback gives no task status; the provider's body must carry `status`",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::lease;
    use crate::lifecycle;
    use crate::model::{JobStatus, Tier};
    use crate::testing::{self, SECOND, submit};

    fn report(task_id: &str, status: &str) -> ProviderReport {
        ProviderReport {
            task_id: task_id.into(),
            status: status.into(),
            progress: Some(100),
            image_url: Some("https://cdn.example.com/1.png".into()),
            fail_reason: None,
        }
    }

    #[test]
    fn an_event_for_the_current_task_is_recorded() {
        let db = testing::db();
        let job = submit(&db, Tier::Free, 0);
        let config = testing::config(10);
        lease(&db, &config, "w", 30_000, SECOND).expect("lease");
        lifecycle::progress(&db, &job.id, "w", "task-1", 10, SECOND).expect("task recorded");

        let seen = record(&db, &job.id, &report("task-1", "SUCCESS"), 2 * SECOND)
            .expect("recorded")
            .expect("the job's task");
        assert_eq!(
            (
                seen.status,
                seen.progress,
                seen.provider_status.as_deref(),
                seen.provider_image_url.as_deref()
            ),
            (
                JobStatus::Running,
                100,
                Some("SUCCESS"),
                Some("https://cdn.example.com/1.png")
            )
        );
    }

    #[test]
    fn an_event_for_another_task_changes_nothing() {
        let db = testing::db();
        let job = submit(&db, Tier::Free, 0);
        let config = testing::config(10);
        lease(&db, &config, "w", 30_000, SECOND).expect("lease");
        lifecycle::progress(&db, &job.id, "w", "task-2", 10, SECOND).expect("task recorded");
        let before = jobs::get(&db, &job.id).expect("job");

        let seen = record(&db, &job.id, &report("task-1", "SUCCESS"), 2 * SECOND);
        assert_eq!(seen, Ok(None));
        assert_eq!(jobs::get(&db, &job.id).expect("job"), before);
    }

    #[test]
    fn a_late_event_never_moves_a_final_job() {
        let db = testing::db();
        let job = submit(&db, Tier::Free, 0);
        let config = testing::config(10);
        lease(&db, &config, "w", 30_000, SECOND).expect("lease");
        lifecycle::progress(&db, &job.id, "w", "task-1", 10, SECOND).expect("task recorded");
        let failed = lifecycle::fail(&db, &job.id, "w", "run_timeout", "silent", 2 * SECOND)
            .expect("failed");

        let seen = record(&db, &job.id, &report("task-1", "SUCCESS"), 3 * SECOND);
        assert_eq!(seen, Ok(Some(failed.clone())));
        assert_eq!(jobs::get(&db, &job.id).expect("job"), failed);
    }
}
