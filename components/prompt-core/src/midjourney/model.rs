//! Midjourney model versions (`--v`, `--niji`) and sets of them.

use std::fmt;

/// A Midjourney model a prompt can be checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Model {
    V1,
    V2,
    V3,
    V4,
    V5,
    V5_1,
    V5_2,
    V6,
    V6_1,
    V7,
    Niji4,
    Niji5,
    Niji6,
}

impl Model {
    /// Every model, in the order they are listed to users.
    pub const ALL: [Model; 13] = [
        Model::V1,
        Model::V2,
        Model::V3,
        Model::V4,
        Model::V5,
        Model::V5_1,
        Model::V5_2,
        Model::V6,
        Model::V6_1,
        Model::V7,
        Model::Niji4,
        Model::Niji5,
        Model::Niji6,
    ];

    /// The model's name as callers see it: `7`, `6.1`, `niji 6`.
    pub const fn name(self) -> &'static str {
        match self {
            Model::V1 => "1",
            Model::V2 => "2",
            Model::V3 => "3",
            Model::V4 => "4",
            Model::V5 => "5",
            Model::V5_1 => "5.1",
            Model::V5_2 => "5.2",
            Model::V6 => "6",
            Model::V6_1 => "6.1",
            Model::V7 => "7",
            Model::Niji4 => "niji 4",
            Model::Niji5 => "niji 5",
            Model::Niji6 => "niji 6",
        }
    }

    /// The model a `--v` / `--version` value selects (`5.0` is an accepted spelling of 5).
    pub fn from_version(value: &str) -> Option<Model> {
        if value == "5.0" {
            return Some(Model::V5);
        }
        Model::ALL
            .into_iter()
            .filter(|m| !m.is_niji())
            .find(|m| m.name() == value)
    }

    /// The model a `--niji` value selects; a bare `--niji` means the newest, niji 6.
    pub fn from_niji(value: &str) -> Option<Model> {
        match value {
            "" | "6" => Some(Model::Niji6),
            "5" => Some(Model::Niji5),
            "4" => Some(Model::Niji4),
            _ => None,
        }
    }

    /// Parses a model name as [`Model::name`] writes it, ignoring case and extra spaces
    /// (`7`, `6.1`, `niji 6`, `Niji  5`).
    pub fn parse(name: &str) -> Option<Model> {
        let words: Vec<&str> = name.split_whitespace().collect();
        match words.as_slice() {
            [version] => Model::from_version(version),
            [niji, n] if niji.eq_ignore_ascii_case("niji") && !n.is_empty() => Model::from_niji(n),
            _ => None,
        }
    }

    /// Whether this is a niji (anime) model.
    pub const fn is_niji(self) -> bool {
        matches!(self, Model::Niji4 | Model::Niji5 | Model::Niji6)
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of models, built at compile time for the parameter table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ModelSet(u16);

impl ModelSet {
    /// The set holding exactly `models`.
    pub const fn of(models: &[Model]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < models.len() {
            bits |= models[i].bit();
            i += 1;
        }
        ModelSet(bits)
    }

    /// Every model.
    pub const fn all() -> Self {
        ModelSet::of(&Model::ALL)
    }

    pub const fn contains(self, model: Model) -> bool {
        self.0 & model.bit() != 0
    }

    pub const fn union(self, other: ModelSet) -> Self {
        ModelSet(self.0 | other.0)
    }

    /// The names of the models in the set, listed in [`Model::ALL`] order: `5, 5.1, niji 6`.
    pub fn names(self) -> String {
        let names: Vec<&str> = Model::ALL
            .into_iter()
            .filter(|m| self.contains(*m))
            .map(Model::name)
            .collect();
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::{Model, ModelSet};

    #[test]
    fn version_values_select_their_models() {
        let picked: Vec<Option<Model>> = ["1", "4", "5", "5.0", "5.1", "5.2", "6", "6.1", "7"]
            .into_iter()
            .map(Model::from_version)
            .collect();
        assert_eq!(
            picked,
            [
                Some(Model::V1),
                Some(Model::V4),
                Some(Model::V5),
                Some(Model::V5),
                Some(Model::V5_1),
                Some(Model::V5_2),
                Some(Model::V6),
                Some(Model::V6_1),
                Some(Model::V7)
            ]
        );
    }

    #[test]
    fn unknown_versions_select_nothing() {
        for value in ["0", "8", "5.3", "6.2", "v7", "", "niji 6", "7.0"] {
            assert_eq!(Model::from_version(value), None, "{value}");
        }
    }

    #[test]
    fn niji_values_select_niji_models() {
        assert_eq!(Model::from_niji("4"), Some(Model::Niji4));
        assert_eq!(Model::from_niji("5"), Some(Model::Niji5));
        assert_eq!(Model::from_niji("6"), Some(Model::Niji6));
        assert_eq!(Model::from_niji(""), Some(Model::Niji6));
        assert_eq!(Model::from_niji("3"), None);
        assert_eq!(Model::from_niji("7"), None);
    }

    #[test]
    fn model_names_parse_back() {
        for model in Model::ALL {
            assert_eq!(Model::parse(model.name()), Some(model));
        }
        assert_eq!(Model::parse(" Niji  5 "), Some(Model::Niji5));
        assert_eq!(Model::parse("niji"), None);
        assert_eq!(Model::parse("8"), None);
    }

    #[test]
    fn model_sets_list_their_names_in_order() {
        let set = ModelSet::of(&[Model::Niji6, Model::V5, Model::V6_1]);
        assert_eq!(set.names(), "5, 6.1, niji 6");
        assert!(set.contains(Model::V5));
        assert!(!set.contains(Model::V7));
        assert_eq!(ModelSet::all().names().matches(", ").count(), 12);
    }
}
