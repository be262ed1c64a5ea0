//! The validation policy (length limit, banned words, default model) and how it is read
//! from configuration strings.

use crate::banned;
use crate::midjourney::Model;

/// Default maximum prompt length, in characters (Unicode scalar values).
pub const DEFAULT_MAX_LENGTH: usize = 2000;
/// Default banned words, comma-separated as in the `banned_words` variable.
pub const DEFAULT_BANNED_WORDS: &str = "nude,naked,gore,no clothes";
/// Default model when a prompt has neither `--v` nor `--niji`.
pub const DEFAULT_MODEL: Model = Model::V7;

/// What a prompt is checked against.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Maximum length of the normalised prompt in characters; exactly this many pass.
    pub max_length: usize,
    /// Banned words and phrases, prepared with [`banned::prepare`].
    pub banned_words: Vec<String>,
    /// The model used when the prompt selects none.
    pub default_model: Model,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_length: DEFAULT_MAX_LENGTH,
            banned_words: parse_banned_words(DEFAULT_BANNED_WORDS),
            default_model: DEFAULT_MODEL,
        }
    }
}

/// The raw configuration values; `None` means "not defined", which takes the default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyVariables {
    /// `max_prompt_length`: a whole number of characters above 0.
    pub max_prompt_length: Option<String>,
    /// `banned_words`: comma-separated words or phrases; empty means none.
    pub banned_words: Option<String>,
    /// `default_model`: `7`, `6.1`, `niji 6`, ...
    pub default_model: Option<String>,
}

/// A configuration value that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("variable `{name}` is `{value}`; expected {expected}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub expected: String,
}

impl TryFrom<&PolicyVariables> for Policy {
    type Error = ConfigError;

    fn try_from(vars: &PolicyVariables) -> Result<Self, ConfigError> {
        let defaults = Policy::default();
        let max_length = match &vars.max_prompt_length {
            Some(value) => parse_max_length(value)?,
            None => defaults.max_length,
        };
        let banned_words = match &vars.banned_words {
            Some(value) => parse_banned_words(value),
            None => defaults.banned_words,
        };
        let default_model = match &vars.default_model {
            Some(value) => parse_model(value)?,
            None => defaults.default_model,
        };
        Ok(Policy {
            max_length,
            banned_words,
            default_model,
        })
    }
}

/// Splits a comma-separated list, preparing each entry and dropping blank ones.
pub fn parse_banned_words(list: &str) -> Vec<String> {
    list.split(',')
        .map(banned::prepare)
        .filter(|entry| !entry.is_empty())
        .collect()
}

fn parse_max_length(value: &str) -> Result<usize, ConfigError> {
    let trimmed = value.trim();
    let digits = !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit());
    match trimmed.parse::<usize>() {
        Ok(n) if digits && n > 0 => Ok(n),
        _ => Err(ConfigError {
            name: "max_prompt_length",
            value: value.to_owned(),
            expected: "a whole number of characters above 0, such as `2000`".to_owned(),
        }),
    }
}

fn parse_model(value: &str) -> Result<Model, ConfigError> {
    Model::parse(value).ok_or_else(|| {
        let names: Vec<&str> = Model::ALL.into_iter().map(Model::name).collect();
        ConfigError {
            name: "default_model",
            value: value.to_owned(),
            expected: format!("a model: {}", names.join(", ")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{ConfigError, Model, Policy, PolicyVariables};

    fn vars(max: Option<&str>, banned: Option<&str>, model: Option<&str>) -> PolicyVariables {
        PolicyVariables {
            max_prompt_length: max.map(str::to_owned),
            banned_words: banned.map(str::to_owned),
            default_model: model.map(str::to_owned),
        }
    }

    #[test]
    fn undefined_variables_take_the_defaults() {
        let policy = Policy::try_from(&PolicyVariables::default()).expect("defaults");
        assert_eq!(
            policy,
            Policy {
                max_length: 2000,
                banned_words: vec![
                    "nude".into(),
                    "naked".into(),
                    "gore".into(),
                    "no clothes".into()
                ],
                default_model: Model::V7,
            }
        );
    }

    #[test]
    fn defined_variables_are_parsed() {
        let policy = Policy::try_from(&vars(
            Some(" 30 "),
            Some("Ass, bra ,,No  Clothes"),
            Some("niji 6"),
        ))
        .expect("valid");
        assert_eq!(policy.max_length, 30);
        assert_eq!(policy.banned_words, ["ass", "bra", "no clothes"]);
        assert_eq!(policy.default_model, Model::Niji6);
    }

    #[test]
    fn an_empty_banned_list_bans_nothing() {
        let policy = Policy::try_from(&vars(None, Some(""), None)).expect("valid");
        assert_eq!(policy.banned_words, Vec::<String>::new());
    }

    #[test]
    fn a_bad_max_length_names_variable_value_and_form() {
        for bad in ["0", "-5", "2k", "", "1.5", "+3"] {
            let err = Policy::try_from(&vars(Some(bad), None, None)).expect_err(bad);
            assert_eq!(
                err,
                ConfigError {
                    name: "max_prompt_length",
                    value: bad.to_owned(),
                    expected: "a whole number of characters above 0, such as `2000`".to_owned(),
                }
            );
        }
        let err = Policy::try_from(&vars(Some("2k"), None, None)).expect_err("2k");
        assert_eq!(
            err.to_string(),
            "variable `max_prompt_length` is `2k`; expected a whole number of characters above 0, \
             such as `2000`"
        );
    }

    #[test]
    fn a_bad_default_model_names_variable_value_and_form() {
        let err = Policy::try_from(&vars(None, None, Some("8"))).expect_err("8");
        assert_eq!(
            err.to_string(),
            "variable `default_model` is `8`; expected a model: 1, 2, 3, 4, 5, 5.1, 5.2, 6, 6.1, \
             7, niji 4, niji 5, niji 6"
        );
    }
}
