//! Building listing queries: optional equality filters, keyset cursors and pages.

use promptmesh_guest::cursor;
use promptmesh_guest::db::Value;

/// A `WHERE` clause of the filters that are set, with their parameters in order.
#[derive(Debug, Default)]
pub struct Where {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl Where {
    /// Adds `column = value` when `value` is set.
    pub fn eq(mut self, column: &str, value: Option<impl Into<Value>>) -> Where {
        if let Some(value) = value {
            self.clauses.push(format!("{column} = ?"));
            self.params.push(value.into());
        }
        self
    }

    /// Adds `column < key` when `key` is set: the rows after a cursor, newest first.
    pub fn before(mut self, column: &str, key: Option<String>) -> Where {
        if let Some(key) = key {
            self.clauses.push(format!("{column} < ?"));
            self.params.push(key.into());
        }
        self
    }

    /// The clause, empty when no filter is set.
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The parameters, followed by `extra`.
    pub fn params_with(mut self, extra: impl IntoIterator<Item = Value>) -> Vec<Value> {
        self.params.extend(extra);
        self.params
    }
}

/// Cuts `items`, fetched with `limit + 1`, to a page of `limit` and the cursor after its last
/// item when more follow.
pub fn page<T>(
    mut items: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> &str,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if items.len() <= limit {
        return (items, None);
    }
    items.truncate(limit);
    let next = items.last().map(|item| cursor::encode(key(item)));
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_set_filters_reach_the_clause() {
        let clause = Where::default()
            .eq("status", Some("queued"))
            .eq("owner", None::<String>)
            .before("id", Some("job_b".into()));
        assert_eq!(clause.sql(), " WHERE status = ? AND id < ?");
        assert_eq!(
            clause.params_with([Value::Integer(3)]),
            vec!["queued".into(), "job_b".into(), Value::Integer(3)]
        );
        assert_eq!(Where::default().sql(), "");
    }

    #[test]
    fn a_page_has_a_cursor_only_when_more_rows_follow() {
        let (items, next) = page(vec!["c", "b", "a"], 2, |s| s);
        assert_eq!(items, ["c", "b"]);
        assert_eq!(next, Some(cursor::encode("b")));
        let (items, next) = page(vec!["c", "b"], 2, |s| s);
        assert_eq!(items, ["c", "b"]);
        assert_eq!(next, None);
    }
}
