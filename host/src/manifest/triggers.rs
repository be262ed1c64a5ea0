//! `[[trigger.http]]`, `[[trigger.redis]]` and their `[application.trigger.<type>]` settings.

use std::collections::BTreeMap;

use super::raw::{RawApplication, RawHttpTrigger, RawRedisTrigger, RawRoute};
use super::{HttpTrigger, Loader, ManifestError, RedisTrigger, Route};
use crate::allowed_hosts::Destination;

impl Loader<'_> {
    /// Checks `[application.trigger.*]` and returns the default Redis address, if any.
    pub(super) fn app_trigger_settings(
        &self,
        app: &RawApplication,
    ) -> Result<Option<String>, ManifestError> {
        for key in app.trigger.keys() {
            if key != "redis" && key != "http" {
                return Err(self.err(
                    format!("application.trigger.{key}"),
                    "only `http` and `redis` triggers have application settings; remove it",
                ));
            }
        }
        if let Some(http) = app.trigger.get("http") {
            self.http_app_settings(http)?;
        }
        let Some(redis) = app.trigger.get("redis") else {
            return Ok(None);
        };
        for key in redis.keys() {
            if key != "address" {
                return Err(self.err(
                    format!("application.trigger.redis.{key}"),
                    "unknown setting; the Redis trigger takes `address` only",
                ));
            }
        }
        let key = "application.trigger.redis.address";
        match redis.get("address") {
            None => Ok(None),
            Some(toml::Value::String(a)) => {
                check_redis_address(a).map_err(|m| self.err(key, m))?;
                Ok(Some(a.clone()))
            }
            Some(_) => Err(self.err(key, "must be a string such as \"redis://localhost:6379\"")),
        }
    }

    /// `[application.trigger.http]`: only Spin's deprecated `base = "/"` is accepted, since
    /// Spin refuses any other base and the same manifest must run under both.
    fn http_app_settings(&self, http: &toml::Table) -> Result<(), ManifestError> {
        for (key, value) in http {
            if key != "base" {
                return Err(self.err(
                    format!("application.trigger.http.{key}"),
                    "unknown setting; the HTTP trigger takes no application settings",
                ));
            }
            if value.as_str() != Some("/") {
                return Err(self.err(
                    "application.trigger.http.base",
                    format!(
                        "base {value} is not supported, as in Spin, which deprecated `base`; \
                         write the base into each [[trigger.http]] route (e.g. \"/api/...\") \
                         and remove `base`"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn http_trigger(
        &self,
        i: usize,
        table: toml::Table,
    ) -> Result<HttpTrigger, ManifestError> {
        let at = format!("trigger.http[{i}]");
        self.check_component_reference(&at, &table)?;
        let raw: RawHttpTrigger = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| self.err(&at, e.message().to_string()))?;
        let route = match raw.route {
            RawRoute::Private { private: true } => Route::Private,
            RawRoute::Private { private: false } => {
                return Err(self.err(format!("{at}.route"), "write a path such as \"/api/...\""));
            }
            RawRoute::Path(p) => {
                check_route(&p).map_err(|m| self.err(format!("{at}.route"), m))?;
                Route::Path(p)
            }
        };
        let id = raw.id.unwrap_or_else(|| format!("http-{i}"));
        Ok(HttpTrigger {
            id,
            route,
            component: raw.component,
        })
    }

    pub(super) fn redis_trigger(
        &self,
        i: usize,
        table: toml::Table,
        app_address: &Option<String>,
    ) -> Result<RedisTrigger, ManifestError> {
        let at = format!("trigger.redis[{i}]");
        self.check_component_reference(&at, &table)?;
        let raw: RawRedisTrigger = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| self.err(&at, e.message().to_string()))?;
        if let Some(address) = &raw.address {
            check_redis_address(address).map_err(|m| self.err(format!("{at}.address"), m))?;
        }
        let address = raw.address.or_else(|| app_address.clone()).ok_or_else(|| {
            self.err(
                format!("{at}.address"),
                "no Redis address; set `address` here or `[application.trigger.redis] address`",
            )
        })?;
        let id = raw.id.unwrap_or_else(|| format!("redis-{i}"));
        Ok(RedisTrigger {
            id,
            channel: raw.channel,
            address,
            component: raw.component,
        })
    }

    /// Refuses an inline component (`component = { source = ... }`), which Spin accepts but
    /// this host does not, before serde reports it as a type error.
    fn check_component_reference(
        &self,
        at: &str,
        table: &toml::Table,
    ) -> Result<(), ManifestError> {
        match table.get("component") {
            Some(toml::Value::Table(_)) => Err(self.err(
                format!("{at}.component"),
                "inline components are not supported; move this table to \
                 `[component.<id>]` (a kebab-case id of your choice) and write \
                 `component = \"<id>\"` here",
            )),
            _ => Ok(()),
        }
    }

    /// Refuses two routes that match the same paths: the later one could never be reached.
    pub(super) fn check_duplicate_routes(
        &self,
        triggers: &[HttpTrigger],
    ) -> Result<(), ManifestError> {
        let mut seen: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
        for (i, t) in triggers.iter().enumerate() {
            let Route::Path(route) = &t.route else {
                continue;
            };
            let Some(&(first, written)) = seen.get(route_key(route)) else {
                seen.insert(route_key(route), (i, route));
                continue;
            };
            let message = if written == route {
                format!("route \"{route}\" is already served by trigger.http[{first}]; change one")
            } else {
                format!(
                    "route \"{route}\" is the same as \"{written}\" of trigger.http[{first}] (a \
                     trailing `/` does not make a different route); change one"
                )
            };
            return Err(self.err(format!("trigger.http[{i}].route"), message));
        }
        Ok(())
    }
}

/// A route without its trailing slashes, as Spin's router compares them; `/` stays `/`.
fn route_key(route: &str) -> &str {
    match route.trim_end_matches('/') {
        "" => "/",
        key => key,
    }
}

pub(super) fn check_route(route: &str) -> Result<(), String> {
    if !route.starts_with('/') {
        return Err(format!("route \"{route}\" must start with `/`"));
    }
    let body = route.strip_suffix("/...").unwrap_or(route);
    if body.contains("...") {
        return Err(format!(
            "route \"{route}\": `...` may only end a route, as in \"/api/...\""
        ));
    }
    Ok(())
}

/// Accepts `redis://host[:port][/db]` and `rediss://...` with a host.
fn check_redis_address(address: &str) -> Result<(), String> {
    match Destination::from_url(address) {
        Some(d) if matches!(d.scheme.as_str(), "redis" | "rediss") && !d.host.is_empty() => Ok(()),
        _ => Err(format!(
            "`{address}` is not a Redis address; write \"redis://host[:port]\" or \
             \"rediss://host[:port]\", e.g. \"redis://localhost:6379\""
        )),
    }
}
