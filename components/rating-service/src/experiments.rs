//! A/B experiments between versions of a template: setting one, sticky weighted assignment
//! of users to arms, and each arm's scores against the control's.

use promptmesh_guest::db::{self, Db, Row};

use crate::bucket;
use crate::error::Error;
use crate::model::{Arm, ArmResult, Experiment, ExperimentResults};
use crate::ratings::moments_from;
use crate::stats::{self, Moments};
use crate::validate;

/// Per arm of the experiment of template `?`, control first: its start (`created_at`),
/// `version`, `weight`, `assigned` users and the `count`, `sum` and `sum_sq` of the scores
/// its version got since the start (sums NULL without any).
const RESULTS: &str = "\
    WITH e AS (SELECT template_id, created_at FROM rate_experiments WHERE template_id = ?), \
    scored AS (SELECT r.template_version AS version, count(*) AS count, \
        sum(r.score) AS sum, sum(r.score * r.score) AS sum_sq \
        FROM rate_ratings r JOIN e ON r.template_id = e.template_id \
        WHERE r.updated_at >= e.created_at GROUP BY r.template_version), \
    users AS (SELECT s.version, count(*) AS assigned \
        FROM rate_assignments s JOIN e ON s.template_id = e.template_id GROUP BY s.version) \
    SELECT e.created_at, a.version, a.weight, coalesce(u.assigned, 0) AS assigned, \
        coalesce(m.count, 0) AS count, m.sum, m.sum_sq \
    FROM e JOIN rate_arms a ON a.template_id = e.template_id \
    LEFT JOIN scored m ON m.version = a.version \
    LEFT JOIN users u ON u.version = a.version \
    ORDER BY a.position";

/// Starts the experiment of template `template_id` at `now`, replacing any earlier one: its
/// assignments are cleared and ratings given before `now` stop counting.
pub fn set(db: &dyn Db, template_id: &str, arms: &[Arm], now: u64) -> Result<Experiment, Error> {
    let template_id = template(template_id)?;
    validate::arms(arms)?;
    db::transaction(db, || {
        clear(db, template_id)?;
        db.execute(
            "INSERT INTO rate_experiments (template_id, created_at) VALUES (?, ?)",
            &[template_id.into(), now.into()],
        )?;
        for (position, arm) in arms.iter().enumerate() {
            db.execute(
                "INSERT INTO rate_arms (template_id, position, version, weight) \
                 VALUES (?, ?, ?, ?)",
                &[
                    template_id.into(),
                    (position as u64).into(),
                    arm.version.into(),
                    arm.weight.into(),
                ],
            )?;
        }
        Ok(Experiment {
            template_id: template_id.to_string(),
            arms: arms.to_vec(),
            created_at: now,
        })
    })
}

/// The experiment of template `template_id`.
pub fn get(db: &dyn Db, template_id: &str) -> Result<Experiment, Error> {
    let template_id = template(template_id)?;
    load(db, template_id)?.ok_or_else(|| Error::no_experiment(template_id))
}

/// Ends the experiment of template `template_id` and forgets its assignments (ratings stay).
pub fn delete(db: &dyn Db, template_id: &str) -> Result<(), Error> {
    let template_id = template(template_id)?;
    db::transaction(db, || {
        if !clear(db, template_id)? {
            return Err(Error::no_experiment(template_id));
        }
        Ok(())
    })
}

/// The version `user` gets from the experiment of template `template_id`: the arm stored
/// for them, or on their first call an arm picked by weight from a hash of the template and
/// the user, stored at `now`.
pub fn assign(db: &dyn Db, template_id: &str, user: &str, now: u64) -> Result<u32, Error> {
    let template_id = template(template_id)?;
    let user = validate::required("user", user, "give who the version is for")?;
    if let Some(version) = assigned(db, template_id, user)? {
        return Ok(version);
    }
    // Without an experiment, answer without taking the write lock.
    get(db, template_id)?;
    db::transaction(db, || assign_first(db, template_id, user, now))
}

/// Picks and stores the arm of `user`, unless another call did so first.
fn assign_first(db: &dyn Db, template_id: &str, user: &str, now: u64) -> Result<u32, Error> {
    // Another call may have assigned the user, or replaced the experiment, meanwhile.
    if let Some(version) = assigned(db, template_id, user)? {
        return Ok(version);
    }
    let experiment = get(db, template_id)?;
    let arm = bucket::pick(&experiment.arms, template_id, user).ok_or_else(|| {
        Error::Internal(format!(
            "the experiment of template `{template_id}` has no weighted arm"
        ))
    })?;
    db.execute(
        "INSERT INTO rate_assignments (template_id, user_id, version, assigned_at) \
         VALUES (?, ?, ?, ?)",
        &[
            template_id.into(),
            user.into(),
            arm.version.into(),
            now.into(),
        ],
    )?;
    Ok(arm.version)
}

/// Every arm's assigned users and the scores its version got since the experiment started
/// (ratings given or replaced at or after its `created_at`, by anyone), and each arm after
/// the first against the first.
pub fn results(db: &dyn Db, template_id: &str) -> Result<ExperimentResults, Error> {
    let template_id = template(template_id)?;
    // One statement, so the arms, assignments and ratings are read from one snapshot.
    let rows = db.execute(RESULTS, &[template_id.into()])?;
    let first = rows
        .first()
        .ok_or_else(|| Error::no_experiment(template_id))?;
    let created_at = first.get("created_at")?;
    let arms = rows.iter().map(tally_from).collect::<Result<Vec<_>, _>>()?;
    Ok(compile(template_id, created_at, &arms))
}

/// An arm with its assigned users and the moments of its scores.
#[derive(Debug, Clone, Copy)]
struct Tally {
    arm: Arm,
    assigned: u32,
    moments: Moments,
}

/// The results from every arm's tally, control first.
fn compile(template_id: &str, created_at: u64, arms: &[Tally]) -> ExperimentResults {
    let comparisons = match arms.split_first() {
        Some((control, others)) => others
            .iter()
            .map(|t| {
                stats::compare(
                    t.arm.version,
                    control.arm.version,
                    t.moments,
                    control.moments,
                )
            })
            .collect(),
        None => Vec::new(),
    };
    ExperimentResults {
        experiment: Experiment {
            template_id: template_id.to_string(),
            arms: arms.iter().map(|t| t.arm).collect(),
            created_at,
        },
        arms: arms
            .iter()
            .map(|t| ArmResult {
                version: t.arm.version,
                weight: t.arm.weight,
                assigned: t.assigned,
                scores: stats::summary(t.moments),
            })
            .collect(),
        comparisons,
    }
}

/// The experiment of `template_id`, if it has one.
fn load(db: &dyn Db, template_id: &str) -> Result<Option<Experiment>, Error> {
    let rows = db.execute(
        "SELECT e.created_at, a.version, a.weight FROM rate_experiments e \
         JOIN rate_arms a ON a.template_id = e.template_id \
         WHERE e.template_id = ? ORDER BY a.position",
        &[template_id.into()],
    )?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(Experiment {
        template_id: template_id.to_string(),
        created_at: first.get("created_at")?,
        arms: rows.iter().map(arm_from).collect::<Result<_, _>>()?,
    }))
}

/// The version stored for `user`; assignments exist only while their experiment does.
fn assigned(db: &dyn Db, template_id: &str, user: &str) -> Result<Option<u32>, Error> {
    let rows = db.execute(
        "SELECT version FROM rate_assignments WHERE template_id = ? AND user_id = ?",
        &[template_id.into(), user.into()],
    )?;
    Ok(rows.first().map(|row| row.get("version")).transpose()?)
}

/// Removes the experiment of `template_id` with its arms and assignments; whether there
/// was one.
fn clear(db: &dyn Db, template_id: &str) -> Result<bool, Error> {
    db.execute(
        "DELETE FROM rate_assignments WHERE template_id = ?",
        &[template_id.into()],
    )?;
    db.execute(
        "DELETE FROM rate_arms WHERE template_id = ?",
        &[template_id.into()],
    )?;
    let deleted = db.execute(
        "DELETE FROM rate_experiments WHERE template_id = ? RETURNING template_id",
        &[template_id.into()],
    )?;
    Ok(!deleted.is_empty())
}

fn tally_from(row: Row<'_>) -> Result<Tally, Error> {
    Ok(Tally {
        arm: arm_from(row)?,
        assigned: row.get("assigned")?,
        moments: moments_from(row)?,
    })
}

fn arm_from(row: Row<'_>) -> Result<Arm, Error> {
    Ok(Arm {
        version: row.get("version")?,
        weight: row.get("weight")?,
    })
}

fn template(template_id: &str) -> Result<&str, Error> {
    validate::required("template_id", template_id, "give a template id")
}

#[cfg(test)]
mod tests;
