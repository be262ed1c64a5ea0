//! Reading templates and versions from their tables into the service's records.

use promptmesh_guest::db::{Db, Row};

use crate::error::Error;
use crate::model::{Label, Template, Version};
use crate::validate::LATEST;

/// The columns of a [`Template`] from `tpl_templates t`; tags and labels come
/// space-separated (neither can contain a space), labels as `name=version`.
pub const TEMPLATE_COLUMNS: &str = "t.id, t.name, t.description, t.latest_version, \
    t.created_at, t.updated_at, \
    (SELECT group_concat(g.tag, ' ') FROM tpl_tags g WHERE g.template_id = t.id) AS tags, \
    (SELECT group_concat(l.name || '=' || l.version, ' ') FROM tpl_labels l \
     WHERE l.template_id = t.id) AS labels";

/// The columns of a [`Version`] from `tpl_versions v`.
pub const VERSION_COLUMNS: &str = "v.template_id, v.version, v.body, v.variables, v.created_at";

/// The template `id`.
pub fn template(db: &dyn Db, id: &str) -> Result<Template, Error> {
    let sql = format!("SELECT {TEMPLATE_COLUMNS} FROM tpl_templates t WHERE t.id = ?");
    let rows = db.execute(&sql, &[id.into()])?;
    let row = rows.first().ok_or_else(|| Error::template_not_found(id))?;
    template_from(row)
}

/// The highest version of template `id`.
pub fn latest_version(db: &dyn Db, id: &str) -> Result<u32, Error> {
    let rows = db.execute(
        "SELECT latest_version FROM tpl_templates WHERE id = ?",
        &[id.into()],
    )?;
    let row = rows.first().ok_or_else(|| Error::template_not_found(id))?;
    Ok(row.get("latest_version")?)
}

/// Version `number` of template `id`, if it exists.
pub fn version(db: &dyn Db, id: &str, number: u32) -> Result<Option<Version>, Error> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM tpl_versions v WHERE v.template_id = ? AND v.version = ?"
    );
    let rows = db.execute(&sql, &[id.into(), number.into()])?;
    rows.first().map(version_from).transpose()
}

/// A [`Template`] from a row of [`TEMPLATE_COLUMNS`].
pub fn template_from(row: Row<'_>) -> Result<Template, Error> {
    let id: String = row.get("id")?;
    let latest_version: u32 = row.get("latest_version")?;
    let tags: Option<String> = row.get("tags")?;
    let labels: Option<String> = row.get("labels")?;
    let mut tags = split(tags.as_deref().unwrap_or(""), ' ');
    tags.sort();
    let labels = labels_from(&id, labels.as_deref().unwrap_or(""), latest_version)?;
    Ok(Template {
        name: row.get("name")?,
        description: row.get("description")?,
        tags,
        latest_version,
        labels,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        id,
    })
}

/// The stored labels plus `latest`, sorted by name.
fn labels_from(id: &str, stored: &str, latest_version: u32) -> Result<Vec<Label>, Error> {
    let mut labels = vec![Label {
        name: LATEST.to_string(),
        version: latest_version,
    }];
    for pair in split(stored, ' ') {
        let parsed = pair
            .split_once('=')
            .and_then(|(name, version)| Some((name, version.parse::<u32>().ok()?)));
        let Some((name, version)) = parsed else {
            return Err(Error::Internal(format!(
                "template `{id}` has a malformed stored label `{pair}`"
            )));
        };
        labels.push(Label {
            name: name.to_string(),
            version,
        });
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(labels)
}

/// A [`Version`] from a row of [`VERSION_COLUMNS`].
pub fn version_from(row: Row<'_>) -> Result<Version, Error> {
    let variables: String = row.get("variables")?;
    Ok(Version {
        template_id: row.get("template_id")?,
        version: row.get("version")?,
        body: row.get("body")?,
        variables: split(&variables, '\n'),
        created_at: row.get("created_at")?,
    })
}

/// The variables as stored: newline-separated.
pub fn join_variables(variables: &[String]) -> String {
    variables.join("\n")
}

fn split(text: &str, separator: char) -> Vec<String> {
    text.split(separator)
        .filter(|part| !part.is_empty())
        .map(str::to_string)
        .collect()
}
