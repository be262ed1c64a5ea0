//! Variables: `fermyon:spin/variables@2.0.0` and `wasi:config/store@0.2.0-draft-2024-09-27`,
//! both serving the component variables of the manifest.
//!
//! Application variables (`[variables]`) take their value, as Spin's environment provider
//! does, from `SPIN_VARIABLE_<NAME>` (the name upper-cased), else from their `default`. A
//! `required` variable without a value stops the host at start. Component variables are
//! templates over them (`"Bearer {{ api_key }}"`), rendered when read. Values are never
//! logged, since some are secrets.

use std::collections::BTreeMap;

use wasmtime::component::{HasData, Linker};

use crate::manifest::Manifest;
use crate::state::{Grants, StoreState};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/host",
        world: "variables",
        imports: { default: async | trappable },
    });
}

use bindings::fermyon::spin2_0_0::variables as spin;
use bindings::wasi::config::store as config;

/// Prefix of the environment variables that give application variables their values.
pub const ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// Why a variable has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariablesError {
    #[error("variable `{name}` is required and has no value; set the environment variable {env}")]
    Missing { name: String, env: String },
    #[error("component `{component}` variable `{variable}`: {source}")]
    Component {
        component: String,
        variable: String,
        source: TemplateError,
    },
}

/// Why a template cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("`{{{{ {0} }}}}` is not an application variable; declare it under [variables]")]
    Undeclared(String),
    #[error("a `{{{{` is not closed by `}}}}`")]
    Unclosed,
}

/// The application variables, resolved.
pub struct Variables {
    values: BTreeMap<String, String>,
}

impl Variables {
    /// Resolves the manifest's variables from the process environment, then from
    /// `generated` (bootstrap secrets by variable name), then from their defaults.
    pub fn from_manifest(
        manifest: &Manifest,
        generated: &BTreeMap<String, String>,
    ) -> anyhow::Result<Variables> {
        let by_env: BTreeMap<String, &String> =
            generated.iter().map(|(k, v)| (env_name(k), v)).collect();
        Ok(Self::resolve(manifest, |name| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty() || !by_env.contains_key(name))
                .or_else(|| by_env.get(name).map(|v| v.to_string()))
        })?)
    }

    /// Resolves the manifest's variables, reading environment variables through `env`, and
    /// checks that every component variable renders.
    pub fn resolve(
        manifest: &Manifest,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Variables, VariablesError> {
        let mut values = BTreeMap::new();
        for (name, var) in &manifest.variables {
            let env_name = env_name(name);
            let value = env(&env_name).or_else(|| var.default.clone());
            let value = value.ok_or(VariablesError::Missing {
                name: name.clone(),
                env: env_name,
            })?;
            values.insert(name.clone(), value);
        }
        let variables = Variables { values };
        variables.check_components(manifest)?;
        Ok(variables)
    }

    fn check_components(&self, manifest: &Manifest) -> Result<(), VariablesError> {
        for component in manifest.components.values() {
            for (variable, template) in &component.variables {
                self.render(template)
                    .map_err(|source| VariablesError::Component {
                        component: component.id.clone(),
                        variable: variable.clone(),
                        source,
                    })?;
            }
        }
        Ok(())
    }

    /// The value of application variable `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// `template` with every `{{ name }}` replaced by the application variable's value.
    pub fn render(&self, template: &str) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or(TemplateError::Unclosed)?;
            let name = after[..end].trim();
            let value = self
                .values
                .get(name)
                .ok_or_else(|| TemplateError::Undeclared(name.into()))?;
            out.push_str(value);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// `SPIN_VARIABLE_<NAME>` for the application variable `name`.
pub fn env_name(name: &str) -> String {
    format!("{ENV_PREFIX}{}", name.to_ascii_uppercase())
}

/// Whether `name` is a valid variable name: lower_snake_case, starting with a letter.
fn valid_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// What the variables host functions see of a store.
pub struct VariablesView<'a> {
    pub grants: &'a Grants,
    pub variables: &'a Variables,
}

impl VariablesView<'_> {
    /// The rendered component variable `name`, `None` when the component has none.
    fn value(&self, name: &str) -> Option<Result<String, TemplateError>> {
        let template = self.grants.variables.get(name)?;
        Some(self.variables.render(template))
    }
}

impl spin::Host for VariablesView<'_> {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, spin::Error>> {
        if !valid_name(&name) {
            let message = format!("`{name}` is not a valid variable name: use lower_snake_case");
            return Ok(Err(spin::Error::InvalidName(message)));
        }
        Ok(match self.value(&name) {
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => Err(spin::Error::Provider(e.to_string())),
            None => Err(spin::Error::Undefined(format!(
                "component `{}` has no variable `{name}`; declare it in [component.{}.variables]",
                self.grants.granted_by, self.grants.granted_by
            ))),
        })
    }
}

impl config::Host for VariablesView<'_> {
    async fn get(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<String>, config::Error>> {
        Ok(self
            .value(&key)
            .transpose()
            .map_err(|e| config::Error::Upstream(e.to_string())))
    }

    async fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, config::Error>> {
        let rendered = self.grants.variables.keys().map(|name| {
            let value = self.variables.render(&self.grants.variables[name]);
            value
                .map(|v| (name.clone(), v))
                .map_err(|e| config::Error::Upstream(e.to_string()))
        });
        Ok(rendered.collect())
    }
}

struct HasVariables;

impl HasData for HasVariables {
    type Data<'a> = VariablesView<'a>;
}

fn view(s: &mut StoreState) -> VariablesView<'_> {
    VariablesView {
        grants: &s.identity.grants,
        variables: &s.services.variables,
    }
}

/// Adds `fermyon:spin/variables@2.0.0` and `wasi:config/store` to `linker`.
pub fn add_to_linker(linker: &mut Linker<StoreState>) -> anyhow::Result<()> {
    spin::add_to_linker::<StoreState, HasVariables>(linker, view)?;
    config::add_to_linker::<StoreState, HasVariables>(linker, view)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use spin::Host as _;

    use super::*;

    const MANIFEST: &str = r#"
        spin_manifest_version = 2
        [application]
        name = "app"
        [variables]
        api_key = { required = true, secret = true }
        region = { default = "eu-west" }
        [[trigger.http]]
        route = "/..."
        component = "gateway"
        [component.gateway]
        source = "gateway.wasm"
        [component.gateway.variables]
        auth = "Bearer {{ api_key }}"
        endpoint = "https://{{region}}.example.com/{{ api_key }}"
    "#;

    fn manifest() -> Manifest {
        Manifest::parse(Path::new("/app/spin.toml"), MANIFEST).expect("the test manifest is valid")
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    fn gateway_grants() -> Grants {
        let spec = &manifest().components["gateway"];
        Grants {
            granted_by: "gateway".into(),
            variables: spec.variables.clone(),
            ..Grants::default()
        }
    }

    #[test]
    fn the_environment_provider_comes_before_the_default() {
        let vars = Variables::resolve(
            &manifest(),
            env(&[
                ("SPIN_VARIABLE_API_KEY", "k1"),
                ("SPIN_VARIABLE_REGION", "us-east"),
            ]),
        )
        .expect("every variable has a value");

        assert_eq!(vars.render("{{ region }}"), Ok("us-east".to_string()));
    }

    #[test]
    fn the_default_applies_without_an_environment_variable() {
        let vars = Variables::resolve(&manifest(), env(&[("SPIN_VARIABLE_API_KEY", "k1")]))
            .expect("every variable has a value");

        assert_eq!(vars.render("{{region}}"), Ok("eu-west".to_string()));
    }

    #[test]
    fn a_required_variable_without_a_value_stops_the_start() {
        let err = Variables::resolve(&manifest(), env(&[]))
            .err()
            .expect("api_key is missing");

        assert_eq!(
            err.to_string(),
            "variable `api_key` is required and has no value; set the environment variable \
             SPIN_VARIABLE_API_KEY"
        );
    }

    #[test]
    fn templates_render_every_reference_and_keep_the_text_around_them() {
        let vars = Variables::resolve(&manifest(), env(&[("SPIN_VARIABLE_API_KEY", "k1")]))
            .expect("every variable has a value");

        assert_eq!(
            vars.render("https://{{region}}.example.com/{{ api_key }}?x={{"),
            Err(TemplateError::Unclosed)
        );
        assert_eq!(
            vars.render("https://{{region}}.example.com/{{ api_key }}"),
            Ok("https://eu-west.example.com/k1".to_string())
        );
        assert_eq!(
            vars.render("{{ nope }}")
                .expect_err("undeclared")
                .to_string(),
            "`{{ nope }}` is not an application variable; declare it under [variables]"
        );
    }

    #[tokio::test]
    async fn components_read_only_their_own_variables() {
        let vars = Variables::resolve(&manifest(), env(&[("SPIN_VARIABLE_API_KEY", "k1")]))
            .expect("every variable has a value");
        let grants = gateway_grants();
        let mut view = VariablesView {
            grants: &grants,
            variables: &vars,
        };

        let auth = view.get("auth".into()).await.expect("no trap");
        let region = view.get("region".into()).await.expect("no trap");
        let invalid = view.get("Auth-Header".into()).await.expect("no trap");

        assert_eq!(auth.expect("declared"), "Bearer k1");
        assert!(
            matches!(region, Err(spin::Error::Undefined(m)) if m.contains("no variable `region`"))
        );
        assert!(matches!(invalid, Err(spin::Error::InvalidName(_))));
    }

    #[tokio::test]
    async fn wasi_config_serves_the_same_variables() {
        let vars = Variables::resolve(&manifest(), env(&[("SPIN_VARIABLE_API_KEY", "k1")]))
            .expect("every variable has a value");
        let grants = gateway_grants();
        let mut view = VariablesView {
            grants: &grants,
            variables: &vars,
        };

        let auth = config::Host::get(&mut view, "auth".into())
            .await
            .expect("no trap");
        let none = config::Host::get(&mut view, "region".into())
            .await
            .expect("no trap");
        let all = config::Host::get_all(&mut view).await.expect("no trap");

        assert_eq!(auth.expect("no error"), Some("Bearer k1".to_string()));
        assert_eq!(none.expect("no error"), None);
        assert_eq!(
            all.expect("no error"),
            [
                ("auth".to_string(), "Bearer k1".to_string()),
                (
                    "endpoint".to_string(),
                    "https://eu-west.example.com/k1".to_string()
                )
            ]
        );
    }
}
