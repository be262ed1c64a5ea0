//! The demo's input: the template library (`demo/templates.toml`) and the subjects
//! (`demo/subjects.txt`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;

/// One template of the library.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryTemplate {
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    /// Version 1.
    pub body: String,
    /// Version 2, when the template has one.
    pub v2: Option<String>,
    /// Whether version 1 and version 2 run as an A/B experiment.
    #[serde(default)]
    pub experiment: bool,
    /// Values to pick from for placeholders other than `subject`.
    #[serde(default)]
    pub variables: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LibraryFile {
    template: Vec<LibraryTemplate>,
}

/// Templates and subjects.
#[derive(Debug, Clone)]
pub struct Library {
    pub templates: Vec<LibraryTemplate>,
    pub subjects: Vec<String>,
}

impl Library {
    /// Reads both files and checks that they fit together.
    pub fn load(templates: &Path, subjects: &Path) -> anyhow::Result<Library> {
        let text = std::fs::read_to_string(templates)
            .with_context(|| format!("reading the template library {}", templates.display()))?;
        let file: LibraryFile =
            toml::from_str(&text).with_context(|| format!("parsing {}", templates.display()))?;
        let text = std::fs::read_to_string(subjects)
            .with_context(|| format!("reading the subjects {}", subjects.display()))?;
        let library = Library {
            templates: file.template,
            subjects: parse_subjects(&text),
        };
        library
            .check()
            .with_context(|| format!("checking {}", templates.display()))?;
        Ok(library)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.templates.is_empty() || self.subjects.is_empty() {
            bail!("the demo needs at least one template and one subject");
        }
        for t in &self.templates {
            if t.experiment && t.v2.is_none() {
                bail!("template `{}` runs an experiment but has no `v2`", t.name);
            }
            for body in std::iter::once(&t.body).chain(&t.v2) {
                if !body.contains("{{subject}}") {
                    bail!("template `{}` has a body without `{{{{subject}}}}`", t.name);
                }
            }
        }
        Ok(())
    }
}

/// Non-empty lines that are not comments.
fn parse_subjects(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_file(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../demo")
            .join(name)
    }

    #[test]
    fn the_shipped_library_has_the_promised_size() {
        let library = Library::load(&repo_file("templates.toml"), &repo_file("subjects.txt"))
            .expect("the shipped library loads");
        assert_eq!(library.templates.len(), 22);
        assert_eq!(library.subjects.len(), 54);
        let experiments: Vec<&str> = library
            .templates
            .iter()
            .filter(|t| t.experiment)
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(
            experiments,
            [
                "Cinematic portrait",
                "Studio product shot",
                "Watercolor storybook"
            ]
        );
    }

    #[test]
    fn subjects_skip_comments_and_blank_lines() {
        assert_eq!(
            parse_subjects("# header\n\n a fox \n#x\nan owl\n"),
            vec!["a fox".to_string(), "an owl".to_string()]
        );
    }
}
