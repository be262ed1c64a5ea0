//! RFC 3339 UTC timestamps with milliseconds, the REST API's format for every time.

/// Formats Unix milliseconds as `2026-12-03T21:30:33.123Z`.
pub fn format_ms(ms: u64) -> String {
    promptmesh_guest::time::rfc3339(ms)
}

/// Formats an optional time; `None` stays `None` (rendered as JSON `null`).
pub fn format_opt(ms: Option<u64>) -> Option<String> {
    ms.map(format_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_milliseconds_in_utc_with_three_digits() {
        assert_eq!(format_ms(1_796_333_433_123), "2026-12-03T21:30:33.123Z");
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(1_000), "1970-01-01T00:00:01.000Z");
        assert_eq!(format_ms(7), "1970-01-01T00:00:00.007Z");
    }

    #[test]
    fn absent_times_stay_absent() {
        assert_eq!(format_opt(None), None);
        assert_eq!(
            format_opt(Some(0)).as_deref(),
            Some("1970-01-01T00:00:00.000Z")
        );
    }

    #[test]
    fn out_of_range_times_do_not_panic() {
        assert!(format_ms(u64::MAX).ends_with('Z'));
    }
}
