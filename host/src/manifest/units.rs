//! Durations and sizes as written in configuration files: a number and a unit, always.

use std::time::Duration;

/// Parses `"250ms"`, `"30s"`, `"5m"` or `"1h"`; a bare number is refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| {
        format!("`{text}` is not a duration: write a whole number and a unit, e.g. `30s`")
    })?;
    let millis = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "" => {
            return Err(format!(
                "`{text}` has no unit: write `{number}s` or `{number}ms`"
            ));
        }
        other => {
            return Err(format!(
                "`{other}` is not a duration unit: use ms, s, m or h"
            ));
        }
    };
    number
        .checked_mul(millis)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{text}` is too long a duration"))
}

/// Parses `"64MiB"`, `"512KiB"`, `"1GiB"` or `"1024B"` into bytes; a bare number is refused.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| {
        format!("`{text}` is not a size: write a whole number and a unit, e.g. `64MiB`")
    })?;
    let scale: u64 = match unit.trim() {
        "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "" => {
            return Err(format!(
                "`{text}` has no unit: write `{number}MiB` or `{number}KiB`"
            ));
        }
        other => {
            return Err(format!(
                "`{other}` is not a size unit: use B, KiB, MiB or GiB"
            ));
        }
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too large a size"))
}

/// Like [`parse_duration`], but refuses zero, which would fail every call.
pub fn parse_nonzero_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!(
            "`{}` is zero; write a duration above zero with its unit (ms, s, m or h), e.g. `30s`",
            text.trim()
        )),
        duration => Ok(duration),
    }
}

/// Like [`parse_bytes`], but refuses zero, which no instance or request could fit in.
pub fn parse_nonzero_bytes(text: &str) -> Result<u64, String> {
    match parse_bytes(text)? {
        0 => Err(format!(
            "`{}` is zero; write a size above zero with its unit (B, KiB, MiB or GiB), e.g. \
             `64MiB`",
            text.trim()
        )),
        bytes => Ok(bytes),
    }
}

/// `bytes` in the largest unit that divides it exactly, e.g. `1088KiB` or `2MiB`.
pub fn format_bytes(bytes: u64) -> String {
    let units = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    match units
        .iter()
        .find(|(scale, _)| bytes > 0 && bytes % scale == 0)
    {
        Some((scale, unit)) => format!("{}{unit}", bytes / scale),
        None => format!("{bytes}B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(
            parse_duration("30"),
            Err("`30` has no unit: write `30s` or `30ms`".to_string())
        );
        assert_eq!(
            parse_duration("3d"),
            Err("`d` is not a duration unit: use ms, s, m or h".to_string())
        );
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn sizes_need_a_unit() {
        assert_eq!(parse_bytes("64MiB"), Ok(64 * 1024 * 1024));
        assert_eq!(parse_bytes("512KiB"), Ok(512 * 1024));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("10B"), Ok(10));
        assert_eq!(
            parse_bytes("64"),
            Err("`64` has no unit: write `64MiB` or `64KiB`".to_string())
        );
        assert_eq!(
            parse_bytes("64MB"),
            Err("`MB` is not a size unit: use B, KiB, MiB or GiB".into())
        );
    }

    #[test]
    fn zero_is_refused_where_it_would_fail_every_call() {
        assert_eq!(
            parse_nonzero_duration("0s"),
            Err(
                "`0s` is zero; write a duration above zero with its unit (ms, s, m or h), e.g. \
                 `30s`"
                    .to_string()
            )
        );
        assert_eq!(
            parse_nonzero_bytes("0B"),
            Err(
                "`0B` is zero; write a size above zero with its unit (B, KiB, MiB or GiB), \
                 e.g. `64MiB`"
                    .to_string()
            )
        );
        assert_eq!(parse_nonzero_duration("1ms"), Ok(Duration::from_millis(1)));
        assert_eq!(parse_nonzero_bytes("1B"), Ok(1));
    }

    #[test]
    fn sizes_print_in_the_largest_exact_unit() {
        assert_eq!(format_bytes(1_114_112), "1088KiB");
        assert_eq!(format_bytes(2 << 20), "2MiB");
        assert_eq!(format_bytes(1 << 30), "1GiB");
        assert_eq!(format_bytes(1000), "1000B");
        assert_eq!(format_bytes(0), "0B");
    }
}
