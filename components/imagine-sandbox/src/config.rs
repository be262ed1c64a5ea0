//! The sandbox's settings, read from Spin variables: an undefined variable takes its default
//! (the same value as `spin.toml`), one that does not parse is an error naming it.

use std::ops::RangeInclusive;

/// Time from submission to the final state, in milliseconds.
pub const DEFAULT_LATENCY_MS: u64 = 1200;
/// Equal progress steps shown while a task is IN_PROGRESS.
pub const DEFAULT_PROGRESS_STEPS: u32 = 4;
/// Share of prompts (0 to 1) whose tasks fail.
pub const DEFAULT_FAILURE_RATE: f64 = 0.0;
/// Pixels per side of the rendered square image.
pub const DEFAULT_IMAGE_SIZE: u32 = 256;
/// Accepted values of `progress_steps`.
pub const PROGRESS_STEPS_RANGE: RangeInclusive<u32> = 1..=100;
/// Accepted values of `image_size`, in pixels per side.
pub const IMAGE_SIZE_RANGE: RangeInclusive<u32> = 16..=1024;

/// How the sandbox behaves; fixed into each task when it is submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Milliseconds from submission to SUCCESS or FAILURE.
    pub latency_ms: u64,
    /// Equal steps of IN_PROGRESS, each shown for `latency_ms / (progress_steps + 1)`.
    pub progress_steps: u32,
    /// 0 to 1: a task fails when its prompt's hash maps below this rate.
    pub failure_rate: f64,
    /// Pixels per side of the image.
    pub image_size: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            latency_ms: DEFAULT_LATENCY_MS,
            progress_steps: DEFAULT_PROGRESS_STEPS,
            failure_rate: DEFAULT_FAILURE_RATE,
            image_size: DEFAULT_IMAGE_SIZE,
        }
    }
}

/// A setting that could not be read or does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
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

impl Settings {
    /// Reads every setting through `lookup`.
    pub fn load(lookup: Lookup<'_>) -> Result<Settings, SettingsError> {
        let latency_ms = read(
            lookup,
            "latency_ms",
            "a whole number of milliseconds",
            |v| v.parse::<u64>().ok(),
        )?;
        let progress_steps = read(
            lookup,
            "progress_steps",
            "a whole number from 1 to 100",
            |v| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| PROGRESS_STEPS_RANGE.contains(n))
            },
        )?;
        let failure_rate = read(lookup, "failure_rate", "a number from 0 to 1", |v| {
            v.parse::<f64>().ok().filter(|r| (0.0..=1.0).contains(r))
        })?;
        let image_size = read(
            lookup,
            "image_size",
            "a whole number of pixels from 16 to 1024",
            |v| {
                v.parse::<u32>()
                    .ok()
                    .filter(|n| IMAGE_SIZE_RANGE.contains(n))
            },
        )?;
        let defaults = Settings::default();
        Ok(Settings {
            latency_ms: latency_ms.unwrap_or(defaults.latency_ms),
            progress_steps: progress_steps.unwrap_or(defaults.progress_steps),
            failure_rate: failure_rate.unwrap_or(defaults.failure_rate),
            image_size: image_size.unwrap_or(defaults.image_size),
        })
    }
}

/// One variable parsed by `parse`; `Ok(None)` when it is not defined.
fn read<T>(
    lookup: Lookup<'_>,
    name: &str,
    expected: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, SettingsError> {
    let value = lookup(name).map_err(|reason| SettingsError::Lookup {
        name: name.to_owned(),
        reason,
    })?;
    let Some(value) = value else {
        return Ok(None);
    };
    parse(value.trim()).map(Some).ok_or(SettingsError::Invalid {
        name: name.to_owned(),
        value,
        expected,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let values: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load(&|name| Ok(values.get(name).cloned()))
    }

    #[test]
    fn undefined_variables_take_the_manifest_defaults() {
        let settings = load(&[]).expect("defaults load");
        assert_eq!(
            settings,
            Settings {
                latency_ms: 1200,
                progress_steps: 4,
                failure_rate: 0.0,
                image_size: 256,
            }
        );
    }

    #[test]
    fn defined_variables_are_parsed() {
        let settings = load(&[
            ("latency_ms", "0"),
            ("progress_steps", " 2 "),
            ("failure_rate", "0.25"),
            ("image_size", "16"),
        ])
        .expect("valid values load");
        assert_eq!(
            settings,
            Settings {
                latency_ms: 0,
                progress_steps: 2,
                failure_rate: 0.25,
                image_size: 16,
            }
        );
    }

    #[test]
    fn an_image_size_outside_16_to_1024_is_refused_with_its_value() {
        let err = load(&[("image_size", "2048")]).expect_err("2048 is too large");
        assert_eq!(
            err.to_string(),
            "variable `image_size` is `2048`, expected a whole number of pixels from 16 to 1024; \
             fix the application's configuration"
        );
    }

    #[test]
    fn a_failure_rate_above_one_or_unparsable_is_refused() {
        let err = load(&[("failure_rate", "1.5")]).expect_err("1.5 is above 1");
        assert_eq!(
            err,
            SettingsError::Invalid {
                name: "failure_rate".into(),
                value: "1.5".into(),
                expected: "a number from 0 to 1",
            }
        );
        assert!(
            load(&[("latency_ms", "1s")]).is_err(),
            "a unit suffix is not a number"
        );
        assert!(
            load(&[("progress_steps", "0")]).is_err(),
            "zero steps show nothing"
        );
    }

    #[test]
    fn a_failed_lookup_names_the_variable() {
        let err = Settings::load(&|_| Err("provider down".into())).expect_err("lookup fails");
        assert_eq!(
            err.to_string(),
            "reading variable `latency_ms` failed: provider down"
        );
    }
}
