//! Set-up shared by the unit tests: a migrated in-memory database and sample input.

use promptmesh_guest::db::NativeDb;

use crate::model::{NewTemplate, Template, TemplateUpdate, Version};
use crate::{schema, templates};

/// The time the tests' first template is created at (Unix milliseconds).
pub const T0: u64 = 1_700_000_000_000;

/// A fresh database with the service's tables.
pub fn db() -> NativeDb {
    let db = NativeDb::memory();
    schema::migrate(&db).expect("migrating an empty database");
    db
}

/// Input for a template without description or tags.
pub fn new_template(name: &str, body: &str) -> NewTemplate {
    NewTemplate {
        name: name.to_string(),
        body: body.to_string(),
        ..NewTemplate::default()
    }
}

/// Creates a template and returns it with its first version.
pub fn create(db: &NativeDb, name: &str, body: &str, tags: &[&str]) -> (Template, Version) {
    let input = NewTemplate {
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..new_template(name, body)
    };
    templates::create(db, &input, T0).expect("creating a valid template")
}

/// An update that only saves a new body.
pub fn body_update(body: &str) -> TemplateUpdate {
    TemplateUpdate {
        body: body.to_string(),
        ..TemplateUpdate::default()
    }
}

/// Saves `body` as the next version of `id` at `now`.
pub fn new_version(db: &NativeDb, id: &str, body: &str, now: u64) -> Version {
    templates::update(db, id, &body_update(body), now)
        .expect("saving a valid version")
        .1
}
