//! Fixed one-minute rate-limit windows: which counter a request increments
//! (`gw:rl:<key id>:<minute>`), what the count means, and the headers that say so.
//! The counting itself is a `wasi:keyvalue` atomic increment in `component`, so the limit
//! holds across instances.

use crate::error::ApiError;

/// The window length, in milliseconds.
pub const WINDOW_MS: u64 = 60_000;

/// The window a moment falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Minutes since the Unix epoch.
    pub minute: u64,
    /// Whole seconds until the window ends, 1 to 60 (rounded up).
    pub reset_seconds: u64,
}

impl Window {
    /// The window of `now_ms`.
    pub fn at(now_ms: u64) -> Window {
        let minute = now_ms / WINDOW_MS;
        let left_ms = (minute + 1) * WINDOW_MS - now_ms;
        Window {
            minute,
            reset_seconds: left_ms.div_ceil(1000),
        }
    }
}

/// The counter of `key_id` in `minute`.
pub fn counter_key(key_id: &str, minute: u64) -> String {
    format!("gw:rl:{key_id}:{minute}")
}

/// The counter of the window before the previous one, which nothing reads any more.
pub fn stale_key(key_id: &str, minute: u64) -> Option<String> {
    minute.checked_sub(2).map(|m| counter_key(key_id, m))
}

/// What a request's count means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The tier has no limit: no headers.
    Unlimited,
    Allowed {
        limit: u32,
        remaining: u32,
        reset_seconds: u64,
    },
    Limited {
        limit: u32,
        reset_seconds: u64,
    },
}

impl Decision {
    /// The decision for the `count`-th request (1 for the first) of a window.
    pub fn of(limit: u32, count: i64, window: Window) -> Decision {
        let reset_seconds = window.reset_seconds;
        if limit == 0 {
            return Decision::Unlimited;
        }
        if count > i64::from(limit) {
            return Decision::Limited {
                limit,
                reset_seconds,
            };
        }
        Decision::Allowed {
            limit,
            remaining: limit - u32::try_from(count.max(0)).unwrap_or(limit),
            reset_seconds,
        }
    }

    /// The `X-RateLimit-*` headers every authenticated response carries.
    pub fn headers(&self) -> Vec<(String, String)> {
        let (limit, remaining, reset) = match *self {
            Decision::Unlimited => return Vec::new(),
            Decision::Allowed {
                limit,
                remaining,
                reset_seconds,
            } => (limit, remaining, reset_seconds),
            Decision::Limited {
                limit,
                reset_seconds,
            } => (limit, 0, reset_seconds),
        };
        vec![
            ("x-ratelimit-limit".into(), limit.to_string()),
            ("x-ratelimit-remaining".into(), remaining.to_string()),
            ("x-ratelimit-reset".into(), reset.to_string()),
        ]
    }

    /// 429 `rate_limited` (with `Retry-After`) when over the limit.
    pub fn check(&self) -> Result<(), ApiError> {
        match *self {
            Decision::Limited {
                limit,
                reset_seconds,
            } => Err(ApiError::rate_limited(limit, reset_seconds)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_minutes_and_reset_rounds_up() {
        assert_eq!(
            Window::at(120_000),
            Window {
                minute: 2,
                reset_seconds: 60
            }
        );
        assert_eq!(
            Window::at(120_001),
            Window {
                minute: 2,
                reset_seconds: 60
            }
        );
        assert_eq!(Window::at(178_999).reset_seconds, 2);
        assert_eq!(Window::at(179_001).reset_seconds, 1);
        assert_eq!(
            Window::at(179_999),
            Window {
                minute: 2,
                reset_seconds: 1
            }
        );
    }

    #[test]
    fn counters_are_per_key_and_minute_and_the_stale_one_is_two_back() {
        assert_eq!(counter_key("key_1", 29_938_890), "gw:rl:key_1:29938890");
        assert_eq!(
            stale_key("key_1", 29_938_890).as_deref(),
            Some("gw:rl:key_1:29938888")
        );
        assert_eq!(stale_key("key_1", 1), None);
    }

    #[test]
    fn the_tenth_request_of_ten_is_allowed_and_the_eleventh_limited() {
        let window = Window::at(130_000);
        assert_eq!(
            Decision::of(10, 1, window),
            Decision::Allowed {
                limit: 10,
                remaining: 9,
                reset_seconds: 50
            }
        );
        assert_eq!(
            Decision::of(10, 10, window),
            Decision::Allowed {
                limit: 10,
                remaining: 0,
                reset_seconds: 50
            }
        );
        let limited = Decision::of(10, 11, window);
        assert_eq!(
            limited,
            Decision::Limited {
                limit: 10,
                reset_seconds: 50
            }
        );
        let error = limited.check().expect_err("limited");
        assert_eq!((error.status, error.code.as_str()), (429, "rate_limited"));
        assert_eq!(
            error.headers,
            [("retry-after".to_string(), "50".to_string())]
        );
    }

    #[test]
    fn headers_state_limit_remaining_and_reset() {
        let headers = Decision::of(10, 4, Window::at(130_000)).headers();
        assert_eq!(
            headers,
            [
                ("x-ratelimit-limit".to_string(), "10".to_string()),
                ("x-ratelimit-remaining".to_string(), "6".to_string()),
                ("x-ratelimit-reset".to_string(), "50".to_string()),
            ]
        );
        let limited = Decision::of(3, 9, Window::at(130_000)).headers();
        assert_eq!(
            limited[1],
            ("x-ratelimit-remaining".to_string(), "0".to_string())
        );
    }

    #[test]
    fn a_zero_limit_is_unlimited_without_headers() {
        let decision = Decision::of(0, 5_000, Window::at(1));
        assert_eq!(decision, Decision::Unlimited);
        assert_eq!(decision.headers(), Vec::<(String, String)>::new());
        assert_eq!(decision.check(), Ok(()));
    }
}
