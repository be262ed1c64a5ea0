//! Reading versions: all of a template's, or the one a selector picks.

use promptmesh_guest::db::Db;

use crate::error::Error;
use crate::model::{Selector, Version};
use crate::read::{self, VERSION_COLUMNS};
use crate::validate::LATEST;

/// Every version of template `id`, oldest first.
pub fn list(db: &dyn Db, id: &str) -> Result<Vec<Version>, Error> {
    read::latest_version(db, id)?;
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM tpl_versions v WHERE v.template_id = ? ORDER BY v.version"
    );
    let rows = db.execute(&sql, &[id.into()])?;
    rows.iter().map(read::version_from).collect()
}

/// The version of template `id` that `selector` picks.
pub fn resolve(db: &dyn Db, id: &str, selector: &Selector) -> Result<Version, Error> {
    let latest = read::latest_version(db, id)?;
    match selector {
        Selector::Latest => number(db, id, latest, latest),
        Selector::Number(n) => number(db, id, *n, latest),
        Selector::Label(name) if name == LATEST => number(db, id, latest, latest),
        Selector::Label(name) => label(db, id, name),
    }
}

/// Version `n` of template `id`, whose highest version is `latest`.
fn number(db: &dyn Db, id: &str, n: u32, latest: u32) -> Result<Version, Error> {
    read::version(db, id, n)?.ok_or_else(|| {
        Error::NotFound(format!(
            "version {n} of template `{id}` does not exist: it has versions 1 to {latest}"
        ))
    })
}

/// The version the label `name` of template `id` points at.
fn label(db: &dyn Db, id: &str, name: &str) -> Result<Version, Error> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM tpl_labels l JOIN tpl_versions v \
         ON v.template_id = l.template_id AND v.version = l.version \
         WHERE l.template_id = ? AND l.name = ?"
    );
    let rows = db.execute(&sql, &[id.into(), name.into()])?;
    let row = rows.first().ok_or_else(|| {
        Error::NotFound(format!("label `{name}` of template `{id}` does not exist"))
    })?;
    read::version_from(row)
}

#[cfg(test)]
mod tests;
