//! The queue's settings, read from Spin variables by the component glue.

use crate::error::{Error, Result};
use crate::model::Tier;

/// `queue_capacity` when the variable is not defined: jobs not yet final.
pub const DEFAULT_QUEUE_CAPACITY: u32 = 1000;
/// `premium_head_start_seconds` when the variable is not defined.
pub const DEFAULT_PREMIUM_HEAD_START_SECONDS: u32 = 60;

/// How the queue admits and orders jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Most jobs that may be queued, running or storing at once (at least 1).
    pub queue_capacity: u32,
    /// How far ahead of a free job submitted at the same time premium and admin jobs run,
    /// in seconds.
    pub premium_head_start_seconds: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            premium_head_start_seconds: DEFAULT_PREMIUM_HEAD_START_SECONDS,
        }
    }
}

impl Config {
    /// Reads the settings through `lookup`, which gives a variable's value or `None` when the
    /// variable is not defined (then the default applies).
    pub fn from_variables(lookup: impl Fn(&str) -> Result<Option<String>>) -> Result<Config> {
        let queue_capacity = match lookup("queue_capacity")? {
            None => DEFAULT_QUEUE_CAPACITY,
            Some(value) => parse_count(
                "queue_capacity",
                &value,
                1,
                "a whole number of jobs, at least 1",
            )?,
        };
        let premium_head_start_seconds = match lookup("premium_head_start_seconds")? {
            None => DEFAULT_PREMIUM_HEAD_START_SECONDS,
            Some(value) => parse_count(
                "premium_head_start_seconds",
                &value,
                0,
                "a whole number of seconds, 0 or more",
            )?,
        };
        Ok(Config {
            queue_capacity,
            premium_head_start_seconds,
        })
    }

    /// The head start of `tier`, in milliseconds.
    pub fn head_start_ms(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Free => 0,
            Tier::Premium | Tier::Admin => i64::from(self.premium_head_start_seconds) * 1000,
        }
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
                premium_head_start_seconds: 60
            })
        );
    }

    #[test]
    fn defined_variables_are_parsed() {
        let config = from(&[
            ("queue_capacity", "100"),
            ("premium_head_start_seconds", " 0 "),
        ]);
        assert_eq!(
            config,
            Ok(Config {
                queue_capacity: 100,
                premium_head_start_seconds: 0
            })
        );
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
        };
        assert_eq!(config.head_start_ms(Tier::Free), 0);
        assert_eq!(config.head_start_ms(Tier::Premium), 60_000);
        assert_eq!(config.head_start_ms(Tier::Admin), 60_000);
    }
}
