//! Checking a parameter's value against the kind of value its table row asks for.

use super::model::Model;
use super::table::Value;

/// Whether `value` (as written, tokens joined by single spaces) is a value of `kind`;
/// [`expected`] says what it should look like otherwise.
pub fn accepts(kind: Value, value: &str) -> bool {
    match kind {
        Value::Ratio => is_ratio(value),
        Value::Version => Model::from_version(value).is_some(),
        Value::Niji => Model::from_niji(value).is_some(),
        Value::Int { min, max } => is_int(value)
            .and_then(|n| n.parse::<i64>().ok())
            .is_some_and(|n| (min..=max).contains(&n)),
        Value::Decimal { min, max } => decimal(value).is_some_and(|n| n >= min && n <= max),
        Value::Numbers(allowed) => {
            decimal(value).is_some_and(|n| allowed.iter().any(|a| decimal(a) == Some(n)))
        }
        Value::Words(allowed) => allowed.iter().any(|w| w.eq_ignore_ascii_case(value)),
        Value::Flag => value.is_empty(),
        Value::Text => !value.is_empty(),
        Value::Urls => all_tokens(value, is_url),
        Value::StyleRefs => all_tokens(value, is_style_ref),
    }
}

/// What a value of `kind` looks like, for messages.
pub fn expected(kind: Value) -> String {
    match kind {
        Value::Ratio => "a ratio of two whole numbers above 0, such as `16:9`".to_owned(),
        Value::Version => {
            let versions: Vec<&str> = Model::ALL
                .into_iter()
                .filter(|m| !m.is_niji())
                .map(Model::name)
                .collect();
            format!("a version: {}", versions.join(", "))
        }
        Value::Niji => "a niji version: 4, 5 or 6".to_owned(),
        Value::Int { min, max } => format!("a whole number from {min} to {max}"),
        Value::Decimal { min, max } => format!("a number from {min} to {max}"),
        Value::Numbers(allowed) => format!("one of {}", allowed.join(", ")),
        Value::Words(allowed) => format!("one of {}", allowed.join(", ")),
        Value::Flag => "no value".to_owned(),
        Value::Text => "the things to leave out, such as `--no plants, text`".to_owned(),
        Value::Urls => "one or more image URLs starting with `https://`".to_owned(),
        Value::StyleRefs => "one or more image URLs, numeric style codes or `random`".to_owned(),
    }
}

/// `W:H` with whole numbers from 1 up to `u32::MAX`.
fn is_ratio(value: &str) -> bool {
    let Some((w, h)) = value.split_once(':') else {
        return false;
    };
    [w, h]
        .into_iter()
        .all(|n| n.bytes().all(|b| b.is_ascii_digit()) && n.parse::<u32>().is_ok_and(|n| n > 0))
}

/// `value` when it is `-?[0-9]+`.
fn is_int(value: &str) -> Option<&str> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(value)
}

/// Parses `[+-]?(digits[.digits]|.digits)`; refuses what Rust's parser also takes
/// (`inf`, `NaN`, `1e3`).
pub fn decimal(value: &str) -> Option<f64> {
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let shaped = digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    if !shaped {
        return None;
    }
    value.parse().ok()
}

fn all_tokens(value: &str, ok: fn(&str) -> bool) -> bool {
    !value.is_empty() && value.split(' ').all(ok)
}

/// An `http://` or `https://` URL with something after the scheme.
fn is_url(token: &str) -> bool {
    let rest = token
        .strip_prefix("https://")
        .or_else(|| token.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}

/// A style reference: URL (optionally `::weight`), a numeric code, or `random`.
fn is_style_ref(token: &str) -> bool {
    let (reference, weight) = match token.rsplit_once("::") {
        Some((r, w)) => (r, Some(w)),
        None => (token, None),
    };
    let weight_ok = weight.is_none_or(|w| decimal(w).is_some());
    let code = !reference.is_empty() && reference.bytes().all(|b| b.is_ascii_digit());
    weight_ok && (is_url(reference) || code || reference.eq_ignore_ascii_case("random"))
}

#[cfg(test)]
mod tests {
    use super::{Value, accepts, decimal, expected};

    #[test]
    fn decimals_take_plain_notation_only() {
        let parsed: Vec<Option<f64>> = ["2", "-0.5", ".25", "+1", "1.", "1.5"]
            .into_iter()
            .map(decimal)
            .collect();
        assert_eq!(
            parsed,
            [
                Some(2.0),
                Some(-0.5),
                Some(0.25),
                Some(1.0),
                Some(1.0),
                Some(1.5)
            ]
        );
        for bad in [
            "", ".", "-", "inf", "NaN", "1e3", "1.2.3", "x", " 1", "-.", "1,5",
        ] {
            assert_eq!(decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn ratios_need_two_whole_numbers_above_zero() {
        for good in ["1:1", "16:9", "4294967295:1"] {
            assert!(accepts(Value::Ratio, good), "{good}");
        }
        for bad in [
            "0:1",
            "1:0",
            "1.5:1",
            "16",
            "16:9:1",
            "-1:2",
            "a:b",
            "4294967296:1",
            "",
        ] {
            assert!(!accepts(Value::Ratio, bad), "{bad}");
        }
    }

    #[test]
    fn integers_refuse_decimals_and_extra_tokens() {
        let kind = Value::Int { min: 0, max: 100 };
        assert!(accepts(kind, "50"));
        for bad in ["50.5", "50 60", "", "-", "1e2", "99999999999999999999"] {
            assert!(!accepts(kind, bad), "{bad}");
        }
        assert_eq!(expected(kind), "a whole number from 0 to 100");
    }

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        assert!(accepts(Value::Urls, "https://a.io/x.png http://b.io/y"));
        for bad in [
            "",
            "a.io/x.png",
            "https://",
            "ftp://a.io",
            "https:///x",
            "https://a.io x",
        ] {
            assert!(!accepts(Value::Urls, bad), "{bad}");
        }
    }

    #[test]
    fn style_references_take_urls_codes_weights_and_random() {
        let good = "https://a.io/x.png::2 762351716 random";
        assert!(accepts(Value::StyleRefs, good));
        for bad in ["", "abc", "https://a.io/x.png::x", "12a"] {
            assert!(!accepts(Value::StyleRefs, bad), "{bad}");
        }
    }

    #[test]
    fn the_expected_version_list_comes_from_the_models() {
        assert_eq!(
            expected(Value::Version),
            "a version: 1, 2, 3, 4, 5, 5.1, 5.2, 6, 6.1, 7"
        );
    }
}
