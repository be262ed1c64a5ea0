//! Authentication: the key a request carries (`Authorization: Bearer` or `X-API-Key`), and
//! who it belongs to: the bootstrap admin key, or a key stored in `gw_keys`.

use promptmesh_guest::db::Db;

use crate::error::ApiError;
use crate::keys;
use crate::model::Principal;

/// The key a request carries: `Authorization: Bearer <key>` first, else `X-API-Key` (also
/// when `Authorization` holds another scheme, e.g. a proxy's Basic credentials).
pub fn credential(
    authorization: Option<&str>,
    x_api_key: Option<&str>,
) -> Result<String, ApiError> {
    let bearer = authorization.and_then(|header| {
        let (scheme, key) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        scheme.eq_ignore_ascii_case("bearer").then_some(key)
    });
    match (bearer, x_api_key, authorization) {
        (Some(key), _, _) | (None, Some(key), _) => non_empty(key.trim()),
        (None, None, Some(_)) => Err(ApiError::unauthenticated(
            "the Authorization header is not a Bearer key; send `Authorization: Bearer <key>`",
        )),
        (None, None, None) => Err(ApiError::unauthenticated(
            "no API key given; send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
        )),
    }
}

fn non_empty(key: &str) -> Result<String, ApiError> {
    if key.is_empty() {
        Err(ApiError::unauthenticated(
            "the API key is empty; send `Authorization: Bearer <key>`",
        ))
    } else {
        Ok(key.to_string())
    }
}

/// The owner of `key`: the bootstrap admin when it equals `admin_key`, else a stored key.
/// `db` is opened only when needed (not for the bootstrap key or a malformed key).
pub fn authenticate(
    key: &str,
    admin_key: Option<&str>,
    db: impl FnOnce() -> Result<Box<dyn Db>, ApiError>,
) -> Result<Principal, ApiError> {
    let hashed = keys::hash(key);
    if admin_key.is_some_and(|admin| keys::hash(admin) == hashed) {
        return Ok(keys::bootstrap());
    }
    if !keys::is_key_form(key) {
        return Err(ApiError::invalid_api_key());
    }
    let db = db()?;
    let stored = keys::migrate(db.as_ref())
        .and_then(|()| keys::find(db.as_ref(), &hashed))
        .map_err(|e| ApiError::internal(format!("reading API keys failed: {e}")))?;
    stored.ok_or_else(ApiError::invalid_api_key)
}

#[cfg(test)]
mod tests {
    use promptmesh_guest::db::NativeDb;

    use super::*;
    use crate::model::Tier;

    const ADMIN: &str = "pm_0123456789abcdef0123456789abcdef";

    fn code(result: Result<impl std::fmt::Debug, ApiError>) -> (u16, String) {
        let error = result.expect_err("refused");
        (error.status, error.code)
    }

    #[test]
    fn bearer_comes_first_and_x_api_key_is_the_fallback() {
        assert_eq!(
            credential(Some("Bearer abc"), Some("xyz")),
            Ok("abc".into())
        );
        assert_eq!(credential(Some("bearer  abc "), None), Ok("abc".into()));
        assert_eq!(credential(None, Some(" xyz ")), Ok("xyz".into()));
        assert_eq!(
            credential(Some("Basic dXNlcjpwdw=="), Some("xyz")),
            Ok("xyz".into())
        );
    }

    #[test]
    fn missing_empty_or_other_schemes_are_unauthenticated() {
        for (authorization, x_api_key) in [
            (None, None),
            (Some("Bearer "), None),
            (Some("Basic YWxhZGRpbjpvcGVuc2VzYW1l"), None),
            (None, Some("")),
        ] {
            assert_eq!(
                code(credential(authorization, x_api_key)),
                (401, "unauthenticated".into()),
                "{authorization:?} {x_api_key:?}"
            );
        }
    }

    fn no_db() -> Result<Box<dyn Db>, ApiError> {
        Err(ApiError::internal("the database is not needed"))
    }

    #[test]
    fn the_bootstrap_key_is_admin_without_the_database() {
        let principal = authenticate(ADMIN, Some(ADMIN), no_db).expect("admin");
        assert_eq!(
            principal,
            Principal {
                key_id: "key_admin".into(),
                name: "bootstrap".into(),
                tier: Tier::Admin
            }
        );
    }

    #[test]
    fn malformed_keys_are_invalid_without_the_database() {
        assert_eq!(
            code(authenticate("letmein", Some(ADMIN), no_db)),
            (401, "invalid_api_key".into())
        );
    }

    #[test]
    fn stored_keys_authenticate_and_unknown_ones_do_not() {
        let db = NativeDb::memory();
        keys::migrate(&db).expect("schema");
        let created = keys::create(&db, "key_1", "alice", Tier::Free, [7; 16], 1).expect("key");
        let open = || -> Result<Box<dyn Db>, ApiError> {
            let db = NativeDb::memory();
            Ok(Box::new(db))
        };
        // A fresh database knows no keys (and gets its table on first use).
        assert_eq!(
            code(authenticate(&created.key, None, open)),
            (401, "invalid_api_key".into())
        );
        let shared = std::cell::Cell::new(Some(db));
        let principal = authenticate(&created.key, Some(ADMIN), || {
            Ok(Box::new(shared.take().expect("opened once")))
        })
        .expect("stored key");
        assert_eq!(
            (principal.key_id.as_str(), principal.tier),
            ("key_1", Tier::Free)
        );
    }
}
