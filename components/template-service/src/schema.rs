//! The service's tables. Steps are applied once each, in order; append, never edit.

use promptmesh_guest::db::{self, Db, DbError};

/// The migration steps, one statement each.
pub const STEPS: &[&str] = &[
    // `name_key` is the lower-cased name: names are unique case-insensitively, in any script.
    "CREATE TABLE tpl_templates (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL,
        latest_version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )",
    // `body_key` is the lower-cased body, for search; `variables` are newline-separated
    // (placeholder names are `[A-Za-z_][A-Za-z0-9_]*`).
    "CREATE TABLE tpl_versions (
        template_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        body_key TEXT NOT NULL,
        variables TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (template_id, version)
    )",
    "CREATE TABLE tpl_tags (
        template_id TEXT NOT NULL,
        tag TEXT NOT NULL,
        PRIMARY KEY (template_id, tag)
    )",
    "CREATE INDEX tpl_tags_by_tag ON tpl_tags (tag, template_id)",
    // Labels other than `latest`, which is always the template's `latest_version`.
    "CREATE TABLE tpl_labels (
        template_id TEXT NOT NULL,
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (template_id, name)
    )",
];

/// Creates or upgrades the service's tables.
pub fn migrate(db: &dyn Db) -> Result<(), DbError> {
    db::migrate(db, "template-service", STEPS)
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
            "INSERT INTO tpl_tags (template_id, tag) VALUES ('tpl_x', 'a')",
            &[],
        )
        .expect("insert");
        migrate(&db).expect("second migration changes nothing");
        let rows = db.execute("SELECT tag FROM tpl_tags", &[]).expect("select");
        assert_eq!(rows.len(), 1);
        let version = db
            .execute(
                "SELECT version FROM pm_schema WHERE service = 'template-service'",
                &[],
            )
            .expect("select");
        assert_eq!(version.first().expect("row").get::<i64>("version"), Ok(5));
    }
}
