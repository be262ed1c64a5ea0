//! Creating, reading, updating (a new version) and deleting templates.

use promptmesh_guest::db::{Db, Value};

use crate::error::Error;
use crate::ids;
use crate::model::{NewTemplate, Template, TemplateUpdate, Version};
use crate::read;
use crate::validate;
use crate::write::{Failure, write};

/// A new template with `input.body` as version 1.
pub fn create(db: &dyn Db, input: &NewTemplate, now: u64) -> Result<(Template, Version), Error> {
    let name = validate::name(&input.name)?;
    let description = validate::description(&input.description)?;
    let tags = validate::tags(&input.tags)?;
    let variables = validate::body(&input.body)?;

    write(db, &format!("template name `{name}`"), || {
        ensure_name_free(db, &name, None)?;
        let id = ids::next_id(now, newest_id(db)?.as_deref());
        db.execute(
            "INSERT INTO tpl_templates \
             (id, name, name_key, description, latest_version, created_at, updated_at) \
             VALUES (?, ?, ?, ?, 1, ?, ?)",
            &[
                (&id).into(),
                (&name).into(),
                validate::name_key(&name).into(),
                (&description).into(),
                now.into(),
                now.into(),
            ],
        )?;
        let version = insert_version(db, &id, &input.body, &variables, now)?;
        replace_tags(db, &id, &tags)?;
        Ok((read::template(db, &id)?, version))
    })
}

/// The template `id`.
pub fn get(db: &dyn Db, id: &str) -> Result<Template, Error> {
    read::template(db, id)
}

/// Saves `update.body` as the next version of `id` and applies the metadata that is set.
pub fn update(
    db: &dyn Db,
    id: &str,
    update: &TemplateUpdate,
    now: u64,
) -> Result<(Template, Version), Error> {
    let name = update.name.as_deref().map(validate::name).transpose()?;
    let description = update.description.as_deref().map(validate::description);
    let description = description.transpose()?;
    let tags = update.tags.as_deref().map(validate::tags).transpose()?;
    let variables = validate::body(&update.body)?;

    write(db, &format!("template `{id}`"), || {
        read::latest_version(db, id)?;
        if let Some(name) = &name {
            ensure_name_free(db, name, Some(id))?;
        }
        let version = insert_version(db, id, &update.body, &variables, now)?;
        db.execute(
            "UPDATE tpl_templates SET latest_version = ?, updated_at = ?, \
             name = COALESCE(?, name), name_key = COALESCE(?, name_key), \
             description = COALESCE(?, description) WHERE id = ?",
            &[
                version.version.into(),
                now.into(),
                name.as_ref().into(),
                name.as_deref().map(validate::name_key).into(),
                description.as_ref().into(),
                id.into(),
            ],
        )?;
        if let Some(tags) = &tags {
            replace_tags(db, id, tags)?;
        }
        Ok((read::template(db, id)?, version))
    })
}

/// Removes the template `id` with its versions, tags and labels.
pub fn delete(db: &dyn Db, id: &str) -> Result<(), Error> {
    write(db, &format!("template `{id}`"), || {
        let deleted = db.execute(
            "DELETE FROM tpl_templates WHERE id = ? RETURNING id",
            &[id.into()],
        )?;
        if deleted.is_empty() {
            return Err(Error::template_not_found(id).into());
        }
        for table in ["tpl_versions", "tpl_tags", "tpl_labels"] {
            let sql = format!("DELETE FROM {table} WHERE template_id = ?");
            db.execute(&sql, &[id.into()])?;
        }
        Ok(())
    })
}

/// Refuses `name` when another template than `except` uses it, in any letter case.
fn ensure_name_free(db: &dyn Db, name: &str, except: Option<&str>) -> Result<(), Failure> {
    let rows = db.execute(
        "SELECT id, name FROM tpl_templates WHERE name_key = ? AND id IS NOT ?",
        &[validate::name_key(name).into(), except.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(());
    };
    let other: String = row.get("id")?;
    let other_name: String = row.get("name")?;
    Err(Error::Conflict(format!(
        "name `{name}` is already used by template `{other}` (`{other_name}`): choose another name"
    ))
    .into())
}

/// The greatest template id in use, so new ids sort after it.
fn newest_id(db: &dyn Db) -> Result<Option<String>, Failure> {
    let rows = db.execute("SELECT MAX(id) AS id FROM tpl_templates", &[])?;
    Ok(rows.first().map(|row| row.get("id")).transpose()?.flatten())
}

/// Appends `body` as the next version of `id`, numbered in the same statement that inserts
/// it, so two writers can never get the same number.
fn insert_version(
    db: &dyn Db,
    id: &str,
    body: &str,
    variables: &[String],
    now: u64,
) -> Result<Version, Failure> {
    let rows = db.execute(
        "INSERT INTO tpl_versions (template_id, version, body, body_key, variables, created_at) \
         SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ?, ?, ? \
         FROM tpl_versions WHERE template_id = ? RETURNING version",
        &[
            id.into(),
            body.into(),
            body.to_lowercase().into(),
            read::join_variables(variables).into(),
            now.into(),
            id.into(),
        ],
    )?;
    let row = rows.first().ok_or_else(|| {
        Failure::Refused(Error::Internal(format!(
            "saving a version of template `{id}` returned no version number"
        )))
    })?;
    Ok(Version {
        template_id: id.to_string(),
        version: row.get("version")?,
        body: body.to_string(),
        variables: variables.to_vec(),
        created_at: now,
    })
}

/// Sets the tags of `id` to `tags` (already normalised).
fn replace_tags(db: &dyn Db, id: &str, tags: &[String]) -> Result<(), Failure> {
    db.execute("DELETE FROM tpl_tags WHERE template_id = ?", &[id.into()])?;
    for tag in tags {
        let params: [Value; 2] = [id.into(), tag.into()];
        db.execute(
            "INSERT INTO tpl_tags (template_id, tag) VALUES (?, ?)",
            &params,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
