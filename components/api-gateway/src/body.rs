//! Strict reading of JSON request bodies: an object with known fields only (400
//! `unknown_field`), each of the expected JSON type (400 `malformed_json` naming the field
//! and the type). Whether a field is required is the caller's check ([`require`], 422).

use serde_json::{Map, Value};

use crate::error::ApiError;

/// A JSON object being read field by field; nested objects carry their path as a prefix.
#[derive(Debug)]
pub struct Object {
    fields: Map<String, Value>,
    prefix: String,
}

impl Object {
    /// Parses a body as a JSON object with fields from `allowed`; an empty body is `{}`.
    pub fn parse(bytes: &[u8], allowed: &[&str]) -> Result<Object, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Object {
                fields: Map::new(),
                prefix: String::new(),
            });
        }
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| ApiError::not_json(&e.to_string()))?;
        Object::from_value(value, String::new(), allowed)
    }

    fn from_value(value: Value, prefix: String, allowed: &[&str]) -> Result<Object, ApiError> {
        let fields = match value {
            Value::Object(fields) => fields,
            other => {
                let field = prefix.strip_suffix('.').map(str::to_string);
                return Err(ApiError::wrong_type(
                    field.as_deref(),
                    "a JSON object",
                    kind(&other),
                ));
            }
        };
        if let Some(unknown) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::unknown_field(
                &format!("{prefix}{unknown}"),
                allowed,
            ));
        }
        Ok(Object { fields, prefix })
    }

    /// The field's full name, e.g. `arms[0].version`.
    pub fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Takes field `name`; JSON `null` counts as absent.
    fn take(&mut self, name: &str) -> Option<Value> {
        self.fields.remove(name).filter(|v| !v.is_null())
    }

    /// A string field.
    pub fn string(&mut self, name: &str) -> Result<Option<String>, ApiError> {
        let path = self.path(name);
        self.take(name).map(|v| string(v, &path)).transpose()
    }

    /// A whole-number field (values past `i64::MAX` read as `i64::MAX`).
    pub fn integer(&mut self, name: &str) -> Result<Option<i64>, ApiError> {
        let path = self.path(name);
        self.take(name).map(|v| integer(&v, &path)).transpose()
    }

    /// A whole-number field from 0 to `u32::MAX`.
    pub fn u32(&mut self, name: &str) -> Result<Option<u32>, ApiError> {
        const EXPECTED: &str = "a whole number from 0 to 4294967295";
        let path = self.path(name);
        match self.take(name) {
            None => Ok(None),
            Some(value) => match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => Ok(Some(n)),
                None => Err(ApiError::wrong_type(Some(&path), EXPECTED, kind(&value))),
            },
        }
    }

    /// An array of strings; elements are named `name[i]`.
    pub fn string_list(&mut self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        let path = self.path(name);
        let Some(value) = self.take(name) else {
            return Ok(None);
        };
        array(value, &path, "an array of strings")?
            .into_iter()
            .enumerate()
            .map(|(i, item)| string(item, &format!("{path}[{i}]")))
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// An object of strings, as `(key, value)` pairs; values are named `name.key`.
    pub fn string_map(&mut self, name: &str) -> Result<Option<Vec<(String, String)>>, ApiError> {
        let path = self.path(name);
        let Some(value) = self.take(name) else {
            return Ok(None);
        };
        let Value::Object(entries) = value else {
            return Err(ApiError::wrong_type(
                Some(&path),
                "an object of strings",
                kind(&value),
            ));
        };
        entries
            .into_iter()
            .map(|(key, value)| {
                let item = string(value, &format!("{path}.{key}"))?;
                Ok((key, item))
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// An array of objects with fields from `allowed`; each is named `name[i]`.
    pub fn objects(
        &mut self,
        name: &str,
        allowed: &[&str],
    ) -> Result<Option<Vec<Object>>, ApiError> {
        let path = self.path(name);
        let Some(value) = self.take(name) else {
            return Ok(None);
        };
        array(value, &path, "an array of objects")?
            .into_iter()
            .enumerate()
            .map(|(i, item)| Object::from_value(item, format!("{path}[{i}]."), allowed))
            .collect::<Result<_, _>>()
            .map(Some)
    }
}

/// The value of a required field, or 422 `missing_field` with `hint` saying what to give.
pub fn require<T>(value: Option<T>, field: &str, hint: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::missing_field(field, hint))
}

fn string(value: Value, path: &str) -> Result<String, ApiError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(ApiError::wrong_type(Some(path), "a string", kind(&other))),
    }
}

fn integer(value: &Value, path: &str) -> Result<i64, ApiError> {
    value
        .as_i64()
        .or_else(|| value.as_u64().map(|_| i64::MAX))
        .ok_or_else(|| ApiError::wrong_type(Some(path), "a whole number", kind(value)))
}

fn array(value: Value, path: &str, expected: &str) -> Result<Vec<Value>, ApiError> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(ApiError::wrong_type(Some(path), expected, kind(&other))),
    }
}

/// How a JSON value is described in messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(n) if n.as_i64().is_some_and(|n| n < 0) => "a negative number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
