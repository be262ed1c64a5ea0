//! Set-up shared by the unit tests: a migrated in-memory database and sample input.

use promptmesh_guest::db::NativeDb;

use crate::model::{Arm, NewRating, Rating};
use crate::{ratings, schema};

/// The time of the tests' first write (Unix milliseconds).
pub const T0: u64 = 1_700_000_000_000;
/// The template the tests rate and experiment on.
pub const TEMPLATE: &str = "tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V";

/// A fresh database with the service's tables.
pub fn db() -> NativeDb {
    let db = NativeDb::memory();
    schema::migrate(&db).expect("migrating an empty database");
    db
}

/// `user`'s rating of `image_id`, made from `version` of [`TEMPLATE`].
pub fn new_rating(image_id: &str, user: &str, score: u8, version: u32) -> NewRating {
    NewRating {
        image_id: image_id.to_string(),
        user: user.to_string(),
        score,
        feedback: None,
        template_id: Some(TEMPLATE.to_string()),
        template_version: Some(version),
    }
}

/// Stores `scores` for `version` of [`TEMPLATE`] at `now`, one image and user per score.
pub fn rate_all(db: &NativeDb, version: u32, scores: &[u8], now: u64) -> Vec<Rating> {
    scores
        .iter()
        .enumerate()
        .map(|(i, &score)| {
            let rating = new_rating(
                &format!("img_v{version}_{i}"),
                &format!("user-{i}"),
                score,
                version,
            );
            ratings::rate(db, &rating, now).expect("storing a valid rating")
        })
        .collect()
}

/// An arm of `version` with `weight`.
pub fn arm(version: u32, weight: u32) -> Arm {
    Arm { version, weight }
}
