//! The gateway's settings, read from Spin variables: a missing variable takes its default
//! (the same value as `spin.toml`), one that does not parse is an `internal` error naming it.

use std::str::FromStr;

use crate::error::ApiError;
use crate::model::Tier;

/// Requests a minute of a `free` key.
pub const DEFAULT_FREE_PER_MINUTE: u32 = 10;
/// Requests a minute of a `premium` key.
pub const DEFAULT_PREMIUM_PER_MINUTE: u32 = 100;
/// Requests a minute of an `admin` key; 0 is unlimited.
pub const DEFAULT_ADMIN_PER_MINUTE: u32 = 0;
/// The largest request body, in bytes (64 KiB).
pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 65_536;
/// Where job wake-ups are published.
pub const DEFAULT_REDIS_ADDRESS: &str = "redis://127.0.0.1:6379";
/// The channel the worker listens on.
pub const DEFAULT_JOBS_CHANNEL: &str = "promptmesh-jobs";

/// The settings of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The bootstrap admin key; `None` when the variable is empty.
    pub admin_api_key: Option<String>,
    /// Requests a minute per tier; 0 is unlimited.
    pub free_per_minute: u32,
    pub premium_per_minute: u32,
    pub admin_per_minute: u32,
    /// The largest request body, in bytes.
    pub max_request_bytes: u64,
    pub redis_address: String,
    pub jobs_channel: String,
    /// The key of provider callback tokens (the webhook signing secret); `None` when empty,
    /// and then every callback is refused.
    pub webhook_secret: Option<String>,
}

/// Reads one variable: `Ok(None)` when it is not defined, `Err` when the lookup failed.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Result<Option<String>, String>;

impl Config {
    /// Reads every setting through `lookup`.
    pub fn load(lookup: Lookup<'_>) -> Result<Config, ApiError> {
        Ok(Config {
            admin_api_key: text(lookup, "admin_api_key", "")?.filter(|key| !key.is_empty()),
            free_per_minute: number(lookup, "free_requests_per_minute", DEFAULT_FREE_PER_MINUTE)?,
            premium_per_minute: number(
                lookup,
                "premium_requests_per_minute",
                DEFAULT_PREMIUM_PER_MINUTE,
            )?,
            admin_per_minute: number(
                lookup,
                "admin_requests_per_minute",
                DEFAULT_ADMIN_PER_MINUTE,
            )?,
            max_request_bytes: number(lookup, "max_request_bytes", DEFAULT_MAX_REQUEST_BYTES)?,
            redis_address: text(lookup, "redis_address", DEFAULT_REDIS_ADDRESS)?
                .unwrap_or_default(),
            jobs_channel: text(lookup, "jobs_channel", DEFAULT_JOBS_CHANNEL)?.unwrap_or_default(),
            webhook_secret: text(lookup, "webhook_secret", "")?.filter(|s| !s.is_empty()),
        })
    }

    /// Requests a minute for `tier`; 0 is unlimited.
    pub fn limit(&self, tier: Tier) -> u32 {
        match tier {
            Tier::Free => self.free_per_minute,
            Tier::Premium => self.premium_per_minute,
            Tier::Admin => self.admin_per_minute,
        }
    }
}

/// A text variable, `default` when undefined.
fn text(lookup: Lookup<'_>, name: &str, default: &str) -> Result<Option<String>, ApiError> {
    let value = lookup(name).map_err(|e| lookup_failed(name, &e))?;
    Ok(Some(value.unwrap_or_else(|| default.to_string())))
}

/// A non-negative integer variable, `default` when undefined.
fn number<T: FromStr>(lookup: Lookup<'_>, name: &str, default: T) -> Result<T, ApiError> {
    match lookup(name).map_err(|e| lookup_failed(name, &e))? {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|_| {
            ApiError::internal(format!(
                "variable `{name}` is `{value}`, not a non-negative whole number; fix the \
                 application's configuration"
            ))
        }),
    }
}

fn lookup_failed(name: &str, error: &str) -> ApiError {
    ApiError::internal(format!("reading variable `{name}` failed: {error}"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ApiError> {
        let values: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(&|name| Ok(values.get(name).cloned()))
    }

    #[test]
    fn missing_variables_take_the_manifest_defaults() {
        let config = load(&[]).expect("defaults");
        assert_eq!(
            config,
            Config {
                admin_api_key: None,
                free_per_minute: 10,
                premium_per_minute: 100,
                admin_per_minute: 0,
                max_request_bytes: 65_536,
                redis_address: "redis://127.0.0.1:6379".into(),
                jobs_channel: "promptmesh-jobs".into(),
                webhook_secret: None,
            }
        );
    }

    #[test]
    fn set_variables_override_the_defaults() {
        let config = load(&[
            ("admin_api_key", "pm_0123456789abcdef0123456789abcdef"),
            ("premium_requests_per_minute", "3"),
            ("max_request_bytes", "1024"),
            ("jobs_channel", "jobs"),
            ("webhook_secret", "whsec"),
        ])
        .expect("valid");
        assert_eq!(
            config.admin_api_key.as_deref(),
            Some("pm_0123456789abcdef0123456789abcdef")
        );
        assert_eq!(config.limit(Tier::Premium), 3);
        assert_eq!(config.limit(Tier::Free), 10);
        assert_eq!(config.limit(Tier::Admin), 0);
        assert_eq!(config.max_request_bytes, 1024);
        assert_eq!(config.jobs_channel, "jobs");
        assert_eq!(config.webhook_secret.as_deref(), Some("whsec"));
    }

    #[test]
    fn an_empty_admin_key_means_no_bootstrap_key() {
        assert_eq!(
            load(&[("admin_api_key", "")]).expect("valid").admin_api_key,
            None
        );
    }

    #[test]
    fn unparsable_numbers_are_internal_errors_naming_the_variable() {
        let error = load(&[("free_requests_per_minute", "ten")]).expect_err("not a number");
        assert_eq!((error.status, error.code.as_str()), (500, "internal"));
        assert_eq!(
            error.message,
            "variable `free_requests_per_minute` is `ten`, not a non-negative whole number; \
             fix the application's configuration"
        );
        let negative = load(&[("max_request_bytes", "-1")]).expect_err("negative");
        assert!(
            negative.message.contains("`max_request_bytes`"),
            "{}",
            negative.message
        );
    }

    #[test]
    fn a_failed_lookup_is_an_internal_error() {
        let error = Config::load(&|_| Err("host unreachable".into())).expect_err("failed");
        assert_eq!(
            error.message,
            "reading variable `admin_api_key` failed: host unreachable"
        );
    }
}
