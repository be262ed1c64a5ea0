//! The service's tables. Steps are applied once each, in order; append, never edit.

use promptmesh_guest::db::{self, Db, DbError};

/// The migration steps, one statement each.
pub const STEPS: &[&str] = &[
    // One rating per user per image; `created_at` is the first rating, `updated_at` the last.
    "CREATE TABLE rate_ratings (
        image_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
        feedback TEXT,
        template_id TEXT,
        template_version INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (image_id, user_id)
    )",
    // Scores per version, and an experiment's scores since it started.
    "CREATE INDEX rate_ratings_by_version
        ON rate_ratings (template_id, template_version, updated_at)",
    "CREATE TABLE rate_experiments (
        template_id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
    )",
    // `position` 0 is the control.
    "CREATE TABLE rate_arms (
        template_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        version INTEGER NOT NULL,
        weight INTEGER NOT NULL,
        PRIMARY KEY (template_id, position),
        UNIQUE (template_id, version)
    )",
    // The arm each user got; cleared whenever the experiment is replaced or deleted.
    "CREATE TABLE rate_assignments (
        template_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        assigned_at INTEGER NOT NULL,
        PRIMARY KEY (template_id, user_id)
    )",
];

/// Creates or upgrades the service's tables.
pub fn migrate(db: &dyn Db) -> Result<(), DbError> {
    db::migrate(db, "rating-service", STEPS)
}

#[cfg(test)]
mod tests {
    use promptmesh_guest::db::NativeDb;

    use super::*;

    #[test]
    fn migrating_twice_keeps_the_data() {
        let db = NativeDb::memory();
        migrate(&db).expect("first migration");
        db.execute(
            "INSERT INTO rate_experiments (template_id, created_at) VALUES ('tpl_x', 1)",
            &[],
        )
        .expect("insert");
        migrate(&db).expect("second migration changes nothing");
        let rows = db
            .execute("SELECT template_id FROM rate_experiments", &[])
            .expect("select");
        assert_eq!(rows.len(), 1);
        let version = db
            .execute(
                "SELECT version FROM pm_schema WHERE service = 'rating-service'",
                &[],
            )
            .expect("select");
        assert_eq!(version.first().expect("row").get::<i64>("version"), Ok(5));
    }
}
