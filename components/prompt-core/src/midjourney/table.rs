//! The one table of Midjourney parameters: their names and aliases, which models accept
//! them, and the values each model allows.
//!
//! Sources (checked while writing this table):
//! - Midjourney's documentation as mirrored in `twardoch/midjargon` `docs/midjourney-docs.md`
//!   (parameter list, "Version Quality Compatibility" table, Style, Weird, Tile, Image
//!   Weight, Character and Style Reference pages): chaos 0–100, seed 0–4294967295,
//!   stylize 0–1000, weird 0–3000 on 5–6 and niji 5–6, `--style raw` on 5.1/5.2/6/niji 6,
//!   niji 5 styles cute/expressive/original/scenic, tile on 1–3 and 5–6, image weight 0–3
//!   on 6 and 0–2 on earlier models and niji, quality .25/.5/1 on 5.2, 6 and niji 5 and
//!   .25/.5/1/2 on 6.1, `--cref`/`--sref` from version 6, `--sw` 0–1000.
//! - docs.midjourney.com "Version" page (V4 styles 4a/4b/4c) and its legacy compatibility
//!   table (as translated at w3cschool.cn "Midjourney 完整参数列表"): V3 stylize
//!   625–60000, V3 image weight -10000–10000; V1–V3 quality up to 5 (willwulfken
//!   "MidJourney Styles and Keywords Reference", V3 quality comparison .25/.5/1/2/5).
//! - Version 7 (docs.evolink.ai "Midjourney V7 Prompt Parameter Guide"): quality 1, 2, 4;
//!   image weight 0–3; weird 0–3000; tile; sref and sw 0–1000.
//! - `--cref`/`--cw` stop at 6.1: version 7 replaced them with `--oref` (prompt-faqs
//!   "Parameter --cref Character Reference (V6)", citing docs.midjourney.com).
//!
//! Legacy models are given the ranges of their family where the docs list only one member
//! (V1 and V2 share V3's rows; niji 4 shares the niji 5 rows where it has one).

use super::model::Model::*;
use super::model::{Model, ModelSet};

/// A parameter's canonical name, as the WIT `parameter.name` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Name {
    Ar,
    V,
    Niji,
    Stylize,
    Chaos,
    Quality,
    Seed,
    No,
    Tile,
    Weird,
    Style,
    Iw,
    Cref,
    Cw,
    Sref,
    Sw,
}

impl Name {
    /// Canonical name without the dashes: `ar`, `stylize`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Name::Ar => "ar",
            Name::V => "v",
            Name::Niji => "niji",
            Name::Stylize => "stylize",
            Name::Chaos => "chaos",
            Name::Quality => "quality",
            Name::Seed => "seed",
            Name::No => "no",
            Name::Tile => "tile",
            Name::Weird => "weird",
            Name::Style => "style",
            Name::Iw => "iw",
            Name::Cref => "cref",
            Name::Cw => "cw",
            Name::Sref => "sref",
            Name::Sw => "sw",
        }
    }
}

/// Every accepted spelling (after `--`, lower case) and the parameter it means.
pub const ALIASES: &[(&str, Name)] = &[
    ("ar", Name::Ar),
    ("aspect", Name::Ar),
    ("v", Name::V),
    ("version", Name::V),
    ("niji", Name::Niji),
    ("stylize", Name::Stylize),
    ("s", Name::Stylize),
    ("chaos", Name::Chaos),
    ("c", Name::Chaos),
    ("quality", Name::Quality),
    ("q", Name::Quality),
    ("seed", Name::Seed),
    ("no", Name::No),
    ("tile", Name::Tile),
    ("weird", Name::Weird),
    ("w", Name::Weird),
    ("style", Name::Style),
    ("iw", Name::Iw),
    ("cref", Name::Cref),
    ("cw", Name::Cw),
    ("sref", Name::Sref),
    ("sw", Name::Sw),
];

/// The parameter a written name (without `--`) means, ignoring ASCII case.
pub fn lookup(written: &str) -> Option<Name> {
    ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(written))
        .map(|(_, name)| *name)
}

/// What a parameter's value must look like.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// `W:H`, whole numbers above 0.
    Ratio,
    /// A `--v` value, see [`Model::from_version`].
    Version,
    /// A `--niji` value (or none), see [`Model::from_niji`].
    Niji,
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// A decimal number in `min..=max`.
    Decimal { min: f64, max: f64 },
    /// One of these numbers, written as decimals (`.25`, `0.25`, `1`, `1.0`).
    Numbers(&'static [&'static str]),
    /// One of these words (ASCII case ignored).
    Words(&'static [&'static str]),
    /// No value at all.
    Flag,
    /// Any non-empty text.
    Text,
    /// One or more `http(s)://` image URLs.
    Urls,
    /// One or more image URLs (optionally `URL::weight`), numeric style codes or `random`.
    StyleRefs,
}

/// One row: `name` is accepted on `models`, with values of `value`.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub name: Name,
    pub models: ModelSet,
    pub value: Value,
}

const LEGACY: ModelSet = ModelSet::of(&[V1, V2, V3]);
const V5_FAMILY: ModelSet = ModelSet::of(&[V5, V5_1, V5_2]);
const V6_FAMILY: ModelSet = ModelSet::of(&[V6, V6_1]);
const NIJI: ModelSet = ModelSet::of(&[Niji4, Niji5, Niji6]);
const ALL: ModelSet = ModelSet::all();

const fn rule(name: Name, models: ModelSet, value: Value) -> Rule {
    Rule {
        name,
        models,
        value,
    }
}

/// The parameter table. A parameter may have one row per group of models whose values
/// differ; no model appears in two rows of the same parameter.
pub const RULES: &[Rule] = &[
    rule(Name::Ar, ALL, Value::Ratio),
    rule(Name::V, ALL, Value::Version),
    rule(Name::Niji, ALL, Value::Niji),
    rule(
        Name::Stylize,
        LEGACY,
        Value::Int {
            min: 625,
            max: 60_000,
        },
    ),
    rule(
        Name::Stylize,
        ModelSet::of(&[V4, V5, V5_1, V5_2, V6, V6_1, V7, Niji4, Niji5, Niji6]),
        Value::Int { min: 0, max: 1000 },
    ),
    rule(Name::Chaos, ALL, Value::Int { min: 0, max: 100 }),
    rule(
        Name::Quality,
        LEGACY,
        Value::Numbers(&[".25", ".5", "1", "2", "5"]),
    ),
    rule(
        Name::Quality,
        ModelSet::of(&[V4, V5, V5_1, V5_2, V6, Niji4, Niji5, Niji6]),
        Value::Numbers(&[".25", ".5", "1"]),
    ),
    rule(
        Name::Quality,
        ModelSet::of(&[V6_1]),
        Value::Numbers(&[".25", ".5", "1", "2"]),
    ),
    rule(
        Name::Quality,
        ModelSet::of(&[V7]),
        Value::Numbers(&["1", "2", "4"]),
    ),
    rule(
        Name::Seed,
        ALL,
        Value::Int {
            min: 0,
            max: 4_294_967_295,
        },
    ),
    rule(Name::No, ALL, Value::Text),
    rule(
        Name::Tile,
        LEGACY
            .union(V5_FAMILY)
            .union(V6_FAMILY)
            .union(ModelSet::of(&[V7])),
        Value::Flag,
    ),
    rule(
        Name::Weird,
        V5_FAMILY
            .union(V6_FAMILY)
            .union(ModelSet::of(&[V7, Niji5, Niji6])),
        Value::Int { min: 0, max: 3000 },
    ),
    rule(
        Name::Style,
        ModelSet::of(&[V4]),
        Value::Words(&["4a", "4b", "4c"]),
    ),
    rule(
        Name::Style,
        ModelSet::of(&[V5_1, V5_2, V6, V6_1, V7, Niji6]),
        Value::Words(&["raw"]),
    ),
    rule(
        Name::Style,
        ModelSet::of(&[Niji5]),
        Value::Words(&["cute", "expressive", "original", "scenic"]),
    ),
    rule(
        Name::Iw,
        LEGACY,
        Value::Decimal {
            min: -10_000.0,
            max: 10_000.0,
        },
    ),
    rule(
        Name::Iw,
        ModelSet::of(&[V4]).union(V5_FAMILY).union(NIJI),
        Value::Decimal { min: 0.0, max: 2.0 },
    ),
    rule(
        Name::Iw,
        V6_FAMILY.union(ModelSet::of(&[V7])),
        Value::Decimal { min: 0.0, max: 3.0 },
    ),
    rule(
        Name::Cref,
        V6_FAMILY.union(ModelSet::of(&[Niji6])),
        Value::Urls,
    ),
    rule(
        Name::Cw,
        V6_FAMILY.union(ModelSet::of(&[Niji6])),
        Value::Int { min: 0, max: 100 },
    ),
    rule(
        Name::Sref,
        V6_FAMILY.union(ModelSet::of(&[V7, Niji6])),
        Value::StyleRefs,
    ),
    rule(
        Name::Sw,
        V6_FAMILY.union(ModelSet::of(&[V7, Niji6])),
        Value::Int { min: 0, max: 1000 },
    ),
];

/// The row that applies to `name` on `model`, if the model accepts the parameter.
pub fn rule_for(name: Name, model: Model) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.name == name && r.models.contains(model))
}

/// Every model that accepts `name`.
pub fn supported_models(name: Name) -> ModelSet {
    RULES
        .iter()
        .filter(|r| r.name == name)
        .fold(ModelSet::default(), |set, r| set.union(r.models))
}

#[cfg(test)]
mod tests {
    use super::{ALIASES, Model, Name, RULES, lookup, rule_for, supported_models};

    #[test]
    fn no_model_appears_in_two_rows_of_one_parameter() {
        for (i, a) in RULES.iter().enumerate() {
            for b in &RULES[i + 1..] {
                let overlap = Model::ALL
                    .into_iter()
                    .any(|m| a.name == b.name && a.models.contains(m) && b.models.contains(m));
                assert!(!overlap, "{:?} has overlapping rows", a.name);
            }
        }
    }

    #[test]
    fn every_parameter_has_a_row_and_every_alias_a_parameter() {
        for (alias, name) in ALIASES {
            assert_eq!(lookup(alias), Some(*name));
            assert!(RULES.iter().any(|r| r.name == *name), "{alias}");
        }
    }

    #[test]
    fn aliases_map_to_canonical_names() {
        let canonical: Vec<&str> = ["s", "c", "q", "w", "aspect", "version", "AR"]
            .into_iter()
            .map(|a| lookup(a).expect("alias").as_str())
            .collect();
        assert_eq!(
            canonical,
            ["stylize", "chaos", "quality", "weird", "ar", "v", "ar"]
        );
        assert_eq!(lookup("zoom"), None);
    }

    #[test]
    fn weird_is_listed_for_version_5_onwards_and_niji_5_and_6() {
        assert_eq!(
            supported_models(Name::Weird).names(),
            "5, 5.1, 5.2, 6, 6.1, 7, niji 5, niji 6"
        );
        assert!(rule_for(Name::Weird, Model::V4).is_none());
    }
}
