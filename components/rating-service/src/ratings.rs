//! Rating images (one rating per user per image, a second replaces the first), listing an
//! image's ratings and summarising scores per template version.

use promptmesh_guest::db::{Db, Row};

use crate::error::Error;
use crate::model::{NewRating, Rating, VersionStats};
use crate::stats::{self, Moments};
use crate::validate;

/// The columns of a [`Rating`] from `rate_ratings`.
const RATING_COLUMNS: &str = "image_id, user_id, score, feedback, template_id, \
    template_version, created_at, updated_at";

/// Stores `rating` at `now`, replacing the user's earlier rating of the image (which keeps
/// its `created_at`).
pub fn rate(db: &dyn Db, rating: &NewRating, now: u64) -> Result<Rating, Error> {
    let rating = validate::rating(rating)?;
    let sql = format!(
        "INSERT INTO rate_ratings ({RATING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (image_id, user_id) DO UPDATE SET \
         score = excluded.score, feedback = excluded.feedback, \
         template_id = excluded.template_id, template_version = excluded.template_version, \
         updated_at = excluded.updated_at \
         RETURNING {RATING_COLUMNS}"
    );
    let rows = db.execute(
        &sql,
        &[
            rating.image_id.into(),
            rating.user.into(),
            rating.score.into(),
            rating.feedback.into(),
            rating.template_id.into(),
            rating.template_version.into(),
            now.into(),
            now.into(),
        ],
    )?;
    let row = rows
        .first()
        .ok_or_else(|| Error::Internal("storing a rating returned no row".into()))?;
    rating_from(row)
}

/// Every rating of image `image_id`, oldest first; none is an empty list.
pub fn for_image(db: &dyn Db, image_id: &str) -> Result<Vec<Rating>, Error> {
    let image_id = validate::required("image_id", image_id, "give the id of an image")?;
    let sql = format!(
        "SELECT {RATING_COLUMNS} FROM rate_ratings WHERE image_id = ? \
         ORDER BY created_at, user_id"
    );
    let rows = db.execute(&sql, &[image_id.into()])?;
    rows.iter().map(rating_from).collect()
}

/// The scores of every version of template `template_id` that has ratings, by version;
/// a template without ratings has an empty list.
pub fn stats_by_version(db: &dyn Db, template_id: &str) -> Result<Vec<VersionStats>, Error> {
    let template_id = validate::required("template_id", template_id, "give a template id")?;
    let rows = db.execute(
        "SELECT template_version AS version, count(*) AS count, sum(score) AS sum, \
         sum(score * score) AS sum_sq FROM rate_ratings \
         WHERE template_id = ? AND template_version IS NOT NULL \
         GROUP BY template_version ORDER BY template_version",
        &[template_id.into()],
    )?;
    rows.iter()
        .map(|row| {
            Ok(VersionStats {
                version: row.get("version")?,
                scores: stats::summary(moments_from(row)?),
            })
        })
        .collect()
}

/// The [`Moments`] of a row with `count`, `sum` and `sum_sq` (sums NULL over no rows).
pub fn moments_from(row: Row<'_>) -> Result<Moments, Error> {
    let sum: Option<u64> = row.get("sum")?;
    let sum_sq: Option<u64> = row.get("sum_sq")?;
    Ok(Moments {
        count: row.get("count")?,
        sum: sum.unwrap_or(0),
        sum_sq: sum_sq.unwrap_or(0),
    })
}

/// A [`Rating`] from a row of [`RATING_COLUMNS`].
fn rating_from(row: Row<'_>) -> Result<Rating, Error> {
    Ok(Rating {
        image_id: row.get("image_id")?,
        user: row.get("user_id")?,
        score: row.get("score")?,
        feedback: row.get("feedback")?,
        template_id: row.get("template_id")?,
        template_version: row.get("template_version")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

#[cfg(test)]
mod tests;
