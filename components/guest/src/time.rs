//! Wall-clock time in Unix milliseconds, the unit of every time in the contracts.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Unix milliseconds as an RFC 3339 UTC time with milliseconds, `2026-12-03T21:30:33.123Z`,
/// the format of every time the REST API and notifications show.
///
/// Times past the year 262143 (beyond `chrono`'s range) are clamped to its maximum; the
/// contracts' times are wall-clock milliseconds and never come near it.
pub fn rfc3339(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    let time = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
