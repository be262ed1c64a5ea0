//! The worker's settings, read from Spin variables before any job is leased: an undefined
//! variable takes its default (the same value as `spin.toml`), one that does not parse is an
//! error naming the variable, its value and the expected form.

use std::time::Duration;

/// The provider's base URL: the sandbox's private route.
pub const DEFAULT_PROVIDER_URL: &str = "http://imagine-sandbox.spin.internal";
/// Milliseconds between two polls of the provider's task.
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 250;
/// Seconds a job may run, from the start of its provider task to the provider's final state,
/// before it fails with `run_timeout`.
pub const DEFAULT_RUN_TIMEOUT_SECONDS: u64 = 300;
/// Where wake-ups are published.
pub const DEFAULT_REDIS_ADDRESS: &str = "redis://127.0.0.1:6379";
/// The channel the workers listen on.
pub const DEFAULT_JOBS_CHANNEL: &str = "promptmesh-jobs";
/// Seconds a worker holds a job before another may take it over, unless renewed.
pub const DEFAULT_LEASE_SECONDS: u64 = 30;
/// Milliseconds before the first retry of a failed attempt, doubled for each next one.
pub const DEFAULT_RETRY_BACKOFF_MS: u64 = 2000;

/// The settings of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `http(s)://host[:port][/prefix]`, without a trailing slash.
    pub provider_url: String,
    /// Sent as `mj-api-secret`; `None` when the variable is empty.
    pub provider_api_secret: Option<String>,
    pub poll_interval: Duration,
    pub run_timeout: Duration,
    /// The HMAC-SHA256 key of webhook signatures.
    pub webhook_secret: String,
    pub redis_address: String,
    pub jobs_channel: String,
    /// How long a lease lasts; the worker renews it at a third of that.
    pub lease: Duration,
    /// The wait before the first retry of a failed attempt, doubled per attempt.
    pub retry_backoff: Duration,
    /// The application's base URL as the provider reaches it, for task callbacks
    /// (`notifyHook`); `None`: the worker polls only.
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            provider_url: DEFAULT_PROVIDER_URL.to_owned(),
            provider_api_secret: None,
            poll_interval: Duration::from_millis(DEFAULT_POLL_INTERVAL_MS),
            run_timeout: Duration::from_secs(DEFAULT_RUN_TIMEOUT_SECONDS),
            webhook_secret: String::new(),
            redis_address: DEFAULT_REDIS_ADDRESS.to_owned(),
            jobs_channel: DEFAULT_JOBS_CHANNEL.to_owned(),
            lease: Duration::from_secs(DEFAULT_LEASE_SECONDS),
            retry_backoff: Duration::from_millis(DEFAULT_RETRY_BACKOFF_MS),
            public_url: None,
        }
    }
}

/// A setting that could not be read or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("reading variable `{name}` failed: {reason}")]
    Lookup { name: String, reason: String },
    #[error(
        "variable `{name}` is `{value}`, expected {expected}; fix the application's configuration"
    )]
    Invalid {
        name: String,
        value: String,
        expected: &'static str,
    },
}

/// Reads one variable: `Ok(None)` when it is not defined, `Err` when the lookup failed.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Result<Option<String>, String>;

impl Config {
    /// Reads every setting through `lookup`.
    pub fn load(lookup: Lookup<'_>) -> Result<Config, ConfigError> {
        let defaults = Config::default();
        let provider_url = read(lookup, "provider_url", "an http:// or https:// URL", url)?;
        let secret = read(lookup, "provider_api_secret", "any text", |v| {
            Some(v.to_owned())
        })?;
        let poll_ms = read(
            lookup,
            "poll_interval_ms",
            "a whole number of milliseconds from 1",
            |v| v.parse::<u64>().ok().filter(|n| *n >= 1),
        )?;
        let timeout_s = read(
            lookup,
            "run_timeout_seconds",
            "a whole number of seconds from 1",
            |v| v.parse::<u64>().ok().filter(|n| *n >= 1),
        )?;
        let webhook_secret = read(lookup, "webhook_secret", "any text", |v| Some(v.to_owned()))?;
        let redis_address = read(
            lookup,
            "redis_address",
            "a redis:// or rediss:// address",
            |v| (v.starts_with("redis://") || v.starts_with("rediss://")).then(|| v.to_owned()),
        )?;
        let jobs_channel = read(lookup, "jobs_channel", "a non-empty channel name", |v| {
            (!v.is_empty()).then(|| v.to_owned())
        })?;
        let lease_s = read(
            lookup,
            "lease_seconds",
            "a whole number of seconds from 3",
            |v| v.parse::<u64>().ok().filter(|n| *n >= 3),
        )?;
        let backoff_ms = read(
            lookup,
            "retry_backoff_ms",
            "a whole number of milliseconds from 1",
            |v| v.parse::<u64>().ok().filter(|n| *n >= 1),
        )?;
        let public_url = read(
            lookup,
            "public_url",
            "empty, or an http:// or https:// URL",
            |v| {
                if v.is_empty() {
                    Some(None)
                } else {
                    url(v).map(Some)
                }
            },
        )?;
        Ok(Config {
            provider_url: provider_url.unwrap_or(defaults.provider_url),
            provider_api_secret: secret.filter(|s| !s.is_empty()),
            poll_interval: poll_ms.map_or(defaults.poll_interval, Duration::from_millis),
            run_timeout: timeout_s.map_or(defaults.run_timeout, Duration::from_secs),
            webhook_secret: webhook_secret.unwrap_or(defaults.webhook_secret),
            redis_address: redis_address.unwrap_or(defaults.redis_address),
            jobs_channel: jobs_channel.unwrap_or(defaults.jobs_channel),
            lease: lease_s.map_or(defaults.lease, Duration::from_secs),
            retry_backoff: backoff_ms.map_or(defaults.retry_backoff, Duration::from_millis),
            public_url: public_url.flatten(),
        })
    }
}

/// An http(s) URL with a host, without its trailing slashes.
fn url(value: &str) -> Option<String> {
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (!host.is_empty()).then(|| value.trim_end_matches('/').to_owned())
}

/// One variable, trimmed and parsed by `parse`; `Ok(None)` when it is not defined.
fn read<T>(
    lookup: Lookup<'_>,
    name: &str,
    expected: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ConfigError> {
    let value = lookup(name).map_err(|reason| ConfigError::Lookup {
        name: name.to_owned(),
        reason,
    })?;
    let Some(value) = value else {
        return Ok(None);
    };
    parse(value.trim()).map(Some).ok_or(ConfigError::Invalid {
        name: name.to_owned(),
        value,
        expected,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let values: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(&|name| Ok(values.get(name).cloned()))
    }

    #[test]
    fn undefined_variables_take_the_manifest_defaults() {
        assert_eq!(
            load(&[]).expect("defaults load"),
            Config {
                provider_url: "http://imagine-sandbox.spin.internal".into(),
                provider_api_secret: None,
                poll_interval: Duration::from_millis(250),
                run_timeout: Duration::from_secs(300),
                webhook_secret: String::new(),
                redis_address: "redis://127.0.0.1:6379".into(),
                jobs_channel: "promptmesh-jobs".into(),
                lease: Duration::from_secs(30),
                retry_backoff: Duration::from_secs(2),
                public_url: None,
            }
        );
    }

    #[test]
    fn defined_variables_are_parsed_and_the_url_loses_its_trailing_slash() {
        let config = load(&[
            ("provider_url", "https://mj.example.com:8080/api/"),
            ("provider_api_secret", "s3cret"),
            ("poll_interval_ms", "10"),
            ("run_timeout_seconds", " 2 "),
            ("webhook_secret", "whsec"),
            ("redis_address", "rediss://cache:6380"),
            ("jobs_channel", "jobs"),
            ("lease_seconds", "5"),
            ("retry_backoff_ms", "100"),
            ("public_url", "https://pm.example.com/"),
        ])
        .expect("valid values load");
        assert_eq!(
            config,
            Config {
                provider_url: "https://mj.example.com:8080/api".into(),
                provider_api_secret: Some("s3cret".into()),
                poll_interval: Duration::from_millis(10),
                run_timeout: Duration::from_secs(2),
                webhook_secret: "whsec".into(),
                redis_address: "rediss://cache:6380".into(),
                jobs_channel: "jobs".into(),
                lease: Duration::from_secs(5),
                retry_backoff: Duration::from_millis(100),
                public_url: Some("https://pm.example.com".into()),
            }
        );
    }

    #[test]
    fn an_empty_api_secret_sends_none() {
        assert_eq!(
            load(&[("provider_api_secret", "")])
                .expect("loads")
                .provider_api_secret,
            None
        );
    }

    #[test]
    fn an_unparsable_poll_interval_is_refused_naming_it() {
        let err = load(&[("poll_interval_ms", "250ms")]).expect_err("a unit suffix is refused");
        assert_eq!(
            err.to_string(),
            "variable `poll_interval_ms` is `250ms`, expected a whole number of milliseconds \
             from 1; fix the application's configuration"
        );
    }

    #[test]
    fn zero_timeouts_and_bad_addresses_are_refused() {
        let cases = [
            ("run_timeout_seconds", "0"),
            ("poll_interval_ms", "0"),
            ("provider_url", "imagine-sandbox.spin.internal"),
            ("provider_url", "http://"),
            ("redis_address", "127.0.0.1:6379"),
            ("jobs_channel", ""),
            ("lease_seconds", "2"),
            ("public_url", "pm.example.com"),
        ];
        for (name, value) in cases {
            let err = load(&[(name, value)]).expect_err("invalid value");
            assert!(
                matches!(&err, ConfigError::Invalid { name: n, value: v, .. } if n == name && v == value),
                "{name}={value}: {err}"
            );
        }
    }

    #[test]
    fn a_failed_lookup_names_the_variable() {
        let err = Config::load(&|_| Err("denied".into())).expect_err("lookup fails");
        assert_eq!(
            err.to_string(),
            "reading variable `provider_url` failed: denied"
        );
    }
}
