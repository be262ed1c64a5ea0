//! Opaque page cursors: the sort key of the last item of a page, base64url-encoded, so
//! clients pass them back without reading them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The cursor that continues after `key`.
pub fn encode(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// The key inside `cursor`, or `None` when it was not made by [`encode`].
pub fn decode(cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = encode("tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V");
        assert_eq!(cursor, "dHBsXzAxSkRaOFEzVDVLWDdZMk00TjZQOFIwUzlW");
        assert_eq!(
            decode(&cursor).as_deref(),
            Some("tpl_01JDZ8Q3T5KX7Y2M4N6P8R0S9V")
        );
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode("__8"), None); // valid base64, not UTF-8
    }
}
