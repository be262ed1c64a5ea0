//! Setting and deleting the labels that point at versions (`latest` is implicit).

use promptmesh_guest::db::Db;

use crate::error::Error;
use crate::model::Template;
use crate::read;
use crate::validate;
use crate::write::write;

/// Points `label` of template `id` at `version`, creating or moving it.
pub fn set(db: &dyn Db, id: &str, label: &str, version: u32, now: u64) -> Result<Template, Error> {
    validate::label(label)?;
    write(db, &format!("template `{id}`"), || {
        let latest = read::latest_version(db, id)?;
        if read::version(db, id, version)?.is_none() {
            return Err(unknown_version(id, version, latest).into());
        }
        db.execute(
            "INSERT INTO tpl_labels (template_id, name, version) VALUES (?, ?, ?) \
             ON CONFLICT (template_id, name) DO UPDATE SET version = excluded.version",
            &[id.into(), label.into(), version.into()],
        )?;
        touch(db, id, now)?;
        Ok(read::template(db, id)?)
    })
}

/// Removes `label` from template `id`.
pub fn delete(db: &dyn Db, id: &str, label: &str, now: u64) -> Result<Template, Error> {
    validate::label(label)?;
    write(db, &format!("template `{id}`"), || {
        read::latest_version(db, id)?;
        let deleted = db.execute(
            "DELETE FROM tpl_labels WHERE template_id = ? AND name = ? RETURNING name",
            &[id.into(), label.into()],
        )?;
        if deleted.is_empty() {
            let message = format!("label `{label}` of template `{id}` does not exist");
            return Err(Error::NotFound(message).into());
        }
        touch(db, id, now)?;
        Ok(read::template(db, id)?)
    })
}

fn unknown_version(id: &str, version: u32, latest: u32) -> Error {
    Error::invalid(
        "version",
        "unknown_version",
        format!(
            "version {version} of template `{id}` does not exist: \
             choose a version from 1 to {latest}"
        ),
    )
}

/// Records that template `id` changed at `now`.
fn touch(db: &dyn Db, id: &str, now: u64) -> Result<(), Error> {
    db.execute(
        "UPDATE tpl_templates SET updated_at = ? WHERE id = ?",
        &[now.into(), id.into()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
