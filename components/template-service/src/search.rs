//! Searching templates by text and tag, a page at a time in creation order.

use promptmesh_guest::cursor;
use promptmesh_guest::db::{Db, Value};
use promptmesh_guest::id::is_id;

use crate::error::Error;
use crate::ids::PREFIX;
use crate::model::{SearchQuery, TemplatePage};
use crate::read::{self, TEMPLATE_COLUMNS};
use crate::validate;

/// One page of the templates matching `query`.
pub fn search(db: &dyn Db, query: &SearchQuery) -> Result<TemplatePage, Error> {
    let limit = validate::limit(query.limit)?;
    let after = query.cursor.as_deref().map(after_id).transpose()?;

    let (sql, params) = statement(query, after.unwrap_or_default(), limit);
    let rows = db.execute(&sql, &params)?;
    let mut items = rows
        .iter()
        .map(read::template_from)
        .collect::<Result<Vec<_>, _>>()?;

    // One row more than the page was read to learn whether another page exists.
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = more
        .then(|| items.last().map(|t| cursor::encode(&t.id)))
        .flatten();
    Ok(TemplatePage { items, next_cursor })
}

/// The id a cursor continues after.
fn after_id(text: &str) -> Result<String, Error> {
    cursor::decode(text)
        .filter(|id| is_id(PREFIX, id))
        .ok_or_else(|| {
            Error::invalid(
                "cursor",
                "invalid_cursor",
                format!(
                    "cursor `{text}` was not made by this service: pass the `next_cursor` of \
                     the previous page, or none for the first page"
                ),
            )
        })
}

/// The query for templates after id `after` that match the filters, `limit + 1` at most.
fn statement(query: &SearchQuery, after: String, limit: u32) -> (String, Vec<Value>) {
    let mut sql = format!(
        "SELECT {TEMPLATE_COLUMNS} FROM tpl_templates t \
         JOIN tpl_versions v ON v.template_id = t.id AND v.version = t.latest_version \
         WHERE t.id > ?"
    );
    let mut params: Vec<Value> = vec![after.into()];
    if let Some(text) = query.text.as_deref().filter(|t| !t.is_empty()) {
        sql.push_str(
            " AND (t.name_key LIKE ? ESCAPE '\\' OR v.body_key LIKE ? ESCAPE '\\' \
             OR EXISTS (SELECT 1 FROM tpl_tags s WHERE s.template_id = t.id \
             AND s.tag LIKE ? ESCAPE '\\'))",
        );
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        params.extend(std::iter::repeat_n(Value::from(pattern), 3));
    }
    let tag = query.tag.as_deref().map(validate::normalize_tag);
    if let Some(tag) = tag.filter(|t| !t.is_empty()) {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM tpl_tags e WHERE e.template_id = t.id AND e.tag = ?)",
        );
        params.push(tag.into());
    }
    sql.push_str(" ORDER BY t.id LIMIT ?");
    params.push((limit + 1).into());
    (sql, params)
}

/// `text` with LIKE's wildcards (and the escape character) taken literally.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests;
