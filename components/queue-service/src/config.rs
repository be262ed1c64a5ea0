//! The queue's settings, read from Spin variables by the component glue.

use crate::error::{Error, Result};
use crate::model::Tier;

/// `queue_capacity` when the variable is not defined: jobs not yet final.
pub const DEFAULT_QUEUE_CAPACITY: u32 = 1000;
/// `premium_head_start_seconds` when the variable is not defined.
pub const DEFAULT_PREMIUM_HEAD_START_SECONDS: u32 = 60;
/// `max_attempts` when the variable is not defined: leases of one job before it fails
/// with `attempts_exhausted`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// `queue_timeout_seconds` when the variable is not defined: one hour in the queue.
pub const DEFAULT_QUEUE_TIMEOUT_SECONDS: u32 = 3600;
/// `notify_max_attempts` when the variable is not defined: deliveries of one notification
/// before it is abandoned.
pub const DEFAULT_NOTIFY_MAX_ATTEMPTS: u32 = 8;
/// `notify_backoff_ms` when the variable is not defined: the wait after a notification's
/// first failed delivery, doubled after each further failure.
pub const DEFAULT_NOTIFY_BACKOFF_MS: u32 = 1000;
/// The longest wait between two deliveries of a notification, in milliseconds.
pub const MAX_NOTIFY_BACKOFF_MS: u64 = 5 * 60 * 1000;

/// How the queue admits, orders, retries and times out jobs, and notifies their owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Most jobs that may be queued, running or storing at once (at least 1).
    pub queue_capacity: u32,
    /// How far ahead of a free job submitted at the same time premium and admin jobs run,
    /// in seconds.
    pub premium_head_start_seconds: u32,
    /// Leases of one job (at least 1); the lease after the last fails it with
    /// `attempts_exhausted`.
    pub max_attempts: u32,
    /// Seconds a job may wait in the queue (from when it last entered it) before it fails
    /// with `queue_timeout` (at least 1).
    pub queue_timeout_seconds: u32,
    /// Deliveries of one notification before it is abandoned (at least 1).
    pub notify_max_attempts: u32,
    /// Milliseconds before the second delivery of a notification; doubled for each next one
    /// up to five minutes, half of each wait jittered (at least 1).
    pub notify_backoff_ms: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            premium_head_start_seconds: DEFAULT_PREMIUM_HEAD_START_SECONDS,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            queue_timeout_seconds: DEFAULT_QUEUE_TIMEOUT_SECONDS,
            notify_max_attempts: DEFAULT_NOTIFY_MAX_ATTEMPTS,
            notify_backoff_ms: DEFAULT_NOTIFY_BACKOFF_MS,
        }
    }
}

/// One setting: its variable, the least value, and the form for messages.
struct Setting {
    name: &'static str,
    min: u32,
    expected: &'static str,
}

const SETTINGS: [Setting; 6] = [
    Setting {
        name: "queue_capacity",
        min: 1,
        expected: "a whole number of jobs, at least 1",
    },
    Setting {
        name: "premium_head_start_seconds",
        min: 0,
        expected: "a whole number of seconds, 0 or more",
    },
    Setting {
        name: "max_attempts",
        min: 1,
        expected: "a whole number of attempts, at least 1",
    },
    Setting {
        name: "queue_timeout_seconds",
        min: 1,
        expected: "a whole number of seconds, at least 1",
    },
    Setting {
        name: "notify_max_attempts",
        min: 1,
        expected: "a whole number of deliveries, at least 1",
    },
    Setting {
        name: "notify_backoff_ms",
        min: 1,
        expected: "a whole number of milliseconds, at least 1",
    },
];

impl Config {
    /// Reads the settings through `lookup`, which gives a variable's value or `None` when the
    /// variable is not defined (then the default applies).
    pub fn from_variables(lookup: impl Fn(&str) -> Result<Option<String>>) -> Result<Config> {
        let defaults = Config::default();
        let [
            capacity,
            head_start,
            attempts,
            queue_timeout,
            notify_attempts,
            notify_backoff,
        ] = SETTINGS;
        let read = |setting: Setting, default: u32| match lookup(setting.name)? {
            None => Ok(default),
            Some(value) => parse_count(setting.name, &value, setting.min, setting.expected),
        };
        Ok(Config {
            queue_capacity: read(capacity, defaults.queue_capacity)?,
            premium_head_start_seconds: read(head_start, defaults.premium_head_start_seconds)?,
            max_attempts: read(attempts, defaults.max_attempts)?,
            queue_timeout_seconds: read(queue_timeout, defaults.queue_timeout_seconds)?,
            notify_max_attempts: read(notify_attempts, defaults.notify_max_attempts)?,
            notify_backoff_ms: read(notify_backoff, defaults.notify_backoff_ms)?,
        })
    }

    /// The head start of `tier`, in milliseconds.
    pub fn head_start_ms(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Free => 0,
            Tier::Premium | Tier::Admin => i64::from(self.premium_head_start_seconds) * 1000,
        }
    }

    /// The queue-wait timeout in milliseconds.
    pub fn queue_timeout_ms(&self) -> u64 {
        u64::from(self.queue_timeout_seconds) * 1000
    }

    /// The wait after a notification's `failures`-th failed delivery (from 1), with
    /// `jitter` in `[0, 1)` scaling its second half.
    pub fn notify_backoff(&self, failures: u32, jitter: f64) -> u64 {
        let doublings = failures.saturating_sub(1).min(30);
        let full = (u64::from(self.notify_backoff_ms) << doublings).min(MAX_NOTIFY_BACKOFF_MS);
        let half = full / 2;
        half + (half as f64 * jitter.clamp(0.0, 1.0)) as u64
    }
}

/// `value` as a `u32` of at least `min`, or an `internal` error naming the variable.
fn parse_count(name: &str, value: &str, min: u32, expected: &str) -> Result<u32> {
    match value.trim().parse::<u32>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(Error::Internal(format!(
            "variable `{name}` is {value:?}; expected {expected}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Config> {
        Config::from_variables(|name| {
            Ok(pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string()))
        })
    }

    #[test]
    fn undefined_variables_take_the_defaults() {
        assert_eq!(
            from(&[]),
            Ok(Config {
                queue_capacity: 1000,
                premium_head_start_seconds: 60,
                max_attempts: 3,
                queue_timeout_seconds: 3600,
                notify_max_attempts: 8,
                notify_backoff_ms: 1000,
            })
        );
    }

    #[test]
    fn defined_variables_are_parsed() {
        let config = from(&[
            ("queue_capacity", "100"),
            ("premium_head_start_seconds", " 0 "),
            ("max_attempts", "5"),
            ("queue_timeout_seconds", "2"),
            ("notify_max_attempts", "4"),
            ("notify_backoff_ms", "100"),
        ]);
        assert_eq!(
            config,
            Ok(Config {
                queue_capacity: 100,
                premium_head_start_seconds: 0,
                max_attempts: 5,
                queue_timeout_seconds: 2,
                notify_max_attempts: 4,
                notify_backoff_ms: 100,
            })
        );
    }

    #[test]
    fn zero_attempts_and_timeouts_are_refused() {
        assert_eq!(
            from(&[("max_attempts", "0")]),
            Err(Error::Internal(
                "variable `max_attempts` is \"0\"; expected a whole number of attempts, at least 1"
                    .into()
            ))
        );
        assert_eq!(
            from(&[("queue_timeout_seconds", "0")]),
            Err(Error::Internal(
                "variable `queue_timeout_seconds` is \"0\"; expected a whole number of seconds, \
                 at least 1"
                    .into()
            ))
        );
    }

    #[test]
    fn notification_backoff_doubles_from_the_base_with_half_jittered_up_to_five_minutes() {
        let config = Config {
            notify_backoff_ms: 1000,
            ..Config::default()
        };
        assert_eq!(config.notify_backoff(1, 0.0), 500);
        assert_eq!(config.notify_backoff(1, 0.5), 750);
        assert_eq!(config.notify_backoff(2, 0.5), 1500);
        assert_eq!(config.notify_backoff(3, 0.999), 3998);
        assert_eq!(config.notify_backoff(12, 0.0), 150_000);
        assert_eq!(config.notify_backoff(40, 0.0), 150_000);
    }

    #[test]
    fn unparsable_variables_are_internal_errors_naming_value_and_form() {
        assert_eq!(
            from(&[("queue_capacity", "lots")]),
            Err(Error::Internal(
                "variable `queue_capacity` is \"lots\"; expected a whole number of jobs, at least 1"
                    .into()
            ))
        );
        assert_eq!(
            from(&[("queue_capacity", "0")]),
            Err(Error::Internal(
                "variable `queue_capacity` is \"0\"; expected a whole number of jobs, at least 1"
                    .into()
            ))
        );
        assert_eq!(
            from(&[("premium_head_start_seconds", "60s")]),
            Err(Error::Internal(
                "variable `premium_head_start_seconds` is \"60s\"; expected a whole number of \
                 seconds, 0 or more"
                    .into()
            ))
        );
    }

    #[test]
    fn lookup_failures_pass_through() {
        let config = Config::from_variables(|_| Err(Error::Internal("no variables".into())));
        assert_eq!(config, Err(Error::Internal("no variables".into())));
    }

    #[test]
    fn premium_and_admin_get_the_head_start_in_milliseconds() {
        let config = Config {
            queue_capacity: 10,
            premium_head_start_seconds: 60,
            ..Config::default()
        };
        assert_eq!(config.head_start_ms(Tier::Free), 0);
        assert_eq!(config.head_start_ms(Tier::Premium), 60_000);
        assert_eq!(config.head_start_ms(Tier::Admin), 60_000);
    }
}
