//! API keys: their form (`pm_` and 32 hex digits), their SHA-256 hashes, and the `gw_keys`
//! table that stores the hashes (never the keys).

use promptmesh_guest::db::{self, Db, DbError};
use sha2::{Digest, Sha256};

use crate::model::{Principal, Tier};

/// Every key starts with this.
pub const KEY_PREFIX: &str = "pm_";
/// Random bytes in a key (32 hex digits).
pub const KEY_BYTES: usize = 16;
/// The id of the bootstrap admin key (variable `admin_api_key`).
pub const BOOTSTRAP_KEY_ID: &str = "key_admin";
/// The name of the bootstrap admin key.
pub const BOOTSTRAP_KEY_NAME: &str = "bootstrap";

/// The gateway's schema; append steps, never edit one.
pub const MIGRATIONS: &[&str] = &["CREATE TABLE gw_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tier TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    )"];

/// A key just created: the only time the key itself is known.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedKey {
    pub id: String,
    pub name: String,
    pub tier: Tier,
    pub key: String,
    pub created_at: u64,
}

/// The key made of `random` bytes: `pm_` and their lower-case hex.
pub fn format_key(random: [u8; KEY_BYTES]) -> String {
    format!("{KEY_PREFIX}{}", hex::encode(random))
}

/// Whether `key` has the form of a key this API issues.
pub fn is_key_form(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX).is_some_and(|hex| {
        hex.len() == KEY_BYTES * 2
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The stored form of a key: its SHA-256 in lower-case hex.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Creates the gateway's tables when they are missing.
pub fn migrate(db: &dyn Db) -> Result<(), DbError> {
    db::migrate(db, "api-gateway", MIGRATIONS)
}

/// Stores a new key (its hash) made of `random`, with id `id`, created at `now` (ms).
pub fn create(
    db: &dyn Db,
    id: &str,
    name: &str,
    tier: Tier,
    random: [u8; KEY_BYTES],
    now: u64,
) -> Result<CreatedKey, DbError> {
    let key = format_key(random);
    db.execute(
        "INSERT INTO gw_keys (id, name, tier, key_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        &[
            id.into(),
            name.into(),
            tier.as_str().into(),
            hash(&key).into(),
            now.into(),
        ],
    )?;
    Ok(CreatedKey {
        id: id.to_string(),
        name: name.to_string(),
        tier,
        key,
        created_at: now,
    })
}

/// The key whose hash is `key_hash`, if stored.
pub fn find(db: &dyn Db, key_hash: &str) -> Result<Option<Principal>, DbError> {
    let rows = db.execute(
        "SELECT id, name, tier FROM gw_keys WHERE key_hash = ?",
        &[key_hash.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let tier: String = row.get("tier")?;
    let tier = Tier::parse(&tier).ok_or_else(|| DbError::Type {
        column: "tier".into(),
        expected: "free, premium or admin",
        found: tier.clone(),
    })?;
    Ok(Some(Principal {
        key_id: row.get("id")?,
        name: row.get("name")?,
        tier,
    }))
}

/// The principal of the bootstrap admin key.
pub fn bootstrap() -> Principal {
    Principal {
        key_id: BOOTSTRAP_KEY_ID.into(),
        name: BOOTSTRAP_KEY_NAME.into(),
        tier: Tier::Admin,
    }
}

#[cfg(test)]
mod tests {
    use promptmesh_guest::db::NativeDb;

    use super::*;

    const RANDOM: [u8; 16] = [
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
        0xef,
    ];

    #[test]
    fn keys_are_pm_and_32_hex_digits() {
        let key = format_key(RANDOM);
        assert_eq!(key, "pm_0123456789abcdef0123456789abcdef");
        assert!(is_key_form(&key));
        assert!(!is_key_form("pm_0123456789ABCDEF0123456789abcdef"));
        assert!(!is_key_form("pm_0123"));
        assert!(!is_key_form("sk_0123456789abcdef0123456789abcdef"));
        assert!(!is_key_form("pm_0123456789abcdef0123456789abcdeg"));
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn stored_keys_are_found_by_hash_only() {
        let db = NativeDb::memory();
        migrate(&db).expect("schema");
        migrate(&db).expect("idempotent");
        let created = create(&db, "key_1", "alice", Tier::Premium, RANDOM, 1_000).expect("insert");
        assert_eq!(
            created,
            CreatedKey {
                id: "key_1".into(),
                name: "alice".into(),
                tier: Tier::Premium,
                key: "pm_0123456789abcdef0123456789abcdef".into(),
                created_at: 1_000,
            }
        );
        let found = find(&db, &hash(&created.key)).expect("select");
        assert_eq!(
            found,
            Some(Principal {
                key_id: "key_1".into(),
                name: "alice".into(),
                tier: Tier::Premium
            })
        );
        assert_eq!(find(&db, &hash("pm_other")).expect("select"), None);
        let stored = db
            .execute("SELECT key_hash FROM gw_keys", &[])
            .expect("select");
        let stored: String = stored.first().expect("row").get("key_hash").expect("text");
        assert_eq!(stored, hash(&created.key));
    }

    #[test]
    fn the_same_key_cannot_be_stored_twice() {
        let db = NativeDb::memory();
        migrate(&db).expect("schema");
        create(&db, "key_1", "a", Tier::Free, RANDOM, 1).expect("first");
        let error = create(&db, "key_2", "b", Tier::Free, RANDOM, 2).expect_err("same hash");
        assert!(matches!(error, DbError::Constraint(_)), "{error}");
    }
}
