//! Spin's HTTP routing: exact routes beat wildcards, longer wildcards beat shorter ones, and
//! private routes are not routed from outside at all.

use crate::manifest::{HttpTrigger, Route};

/// A route that matched a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The component serving the route.
    pub component: String,
    /// The route as written in the manifest (`/api/...`).
    pub raw_route: String,
    /// The route without its wildcard (`/api`).
    pub component_route: String,
    /// The part of the path below `component_route` (`/items/7`), empty for an exact match.
    pub path_info: String,
}

#[derive(Debug, Clone)]
struct Entry {
    component: String,
    raw: String,
    /// Route without `/...`; `""` for the root wildcard `/...`.
    base: String,
    wildcard: bool,
}

/// The public routes of an application.
#[derive(Debug, Clone, Default)]
pub struct Router {
    entries: Vec<Entry>,
}

impl Router {
    /// Builds the router from the HTTP triggers whose components run on this host.
    pub fn new<'a>(triggers: impl IntoIterator<Item = &'a HttpTrigger>) -> Router {
        let mut entries: Vec<Entry> = triggers
            .into_iter()
            .filter_map(|t| match &t.route {
                Route::Private => None,
                Route::Path(raw) => Some(entry(&t.component, raw)),
            })
            .collect();
        // Exact routes first, then wildcards from the longest base down.
        entries.sort_by(|a, b| {
            a.wildcard
                .cmp(&b.wildcard)
                .then(b.base.len().cmp(&a.base.len()))
        });
        Router { entries }
    }

    /// The route serving `path`, if any.
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let path = normalise(path);
        self.entries.iter().find_map(|e| {
            let path_info = if e.wildcard {
                wildcard_rest(&e.base, path)?
            } else if e.base == path {
                ""
            } else {
                return None;
            };
            Some(RouteMatch {
                component: e.component.clone(),
                raw_route: e.raw.clone(),
                component_route: e.base.clone(),
                path_info: path_info.to_string(),
            })
        })
    }

    /// Every public route with its component, in matching order.
    pub fn routes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|e| (e.raw.as_str(), e.component.as_str()))
    }
}

fn entry(component: &str, raw: &str) -> Entry {
    let (base, wildcard) = match raw.strip_suffix("/...") {
        Some(base) => (base, true),
        None => (raw, false),
    };
    let base = base.trim_end_matches('/');
    let base = if !wildcard && base.is_empty() {
        "/"
    } else {
        base
    };
    Entry {
        component: component.to_string(),
        raw: raw.to_string(),
        base: base.to_string(),
        wildcard,
    }
}

fn normalise(path: &str) -> &str {
    if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    }
}

/// The rest of `path` below `base` when `path` is `base` or lies under it segment-wise.
fn wildcard_rest<'p>(base: &str, path: &'p str) -> Option<&'p str> {
    let rest = path.strip_prefix(base)?;
    if rest.is_empty() || rest.starts_with('/') {
        Some(if rest == "/" { "" } else { rest })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(route: &str, component: &str) -> HttpTrigger {
        let route = if route == "private" {
            Route::Private
        } else {
            Route::Path(route.into())
        };
        HttpTrigger {
            id: component.into(),
            route,
            component: component.into(),
        }
    }

    fn router() -> Router {
        Router::new(&[
            trigger("/...", "root"),
            trigger("/api/...", "api"),
            trigger("/api/items/...", "items"),
            trigger("/api/health", "health"),
            trigger("private", "hidden"),
        ])
    }

    fn served_by(path: &str) -> Option<String> {
        router().route(path).map(|m| m.component)
    }

    #[test]
    fn most_specific_route_wins() {
        assert_eq!(served_by("/api/health").as_deref(), Some("health"));
        assert_eq!(served_by("/api/health/"), Some("health".into()));
        assert_eq!(served_by("/api/healthz"), Some("api".into()));
        assert_eq!(served_by("/api/items/7"), Some("items".into()));
        assert_eq!(served_by("/api/items"), Some("items".into()));
        assert_eq!(served_by("/api/itemsx"), Some("api".into()));
        assert_eq!(served_by("/"), Some("root".into()));
        assert_eq!(served_by("/elsewhere/deep"), Some("root".into()));
    }

    #[test]
    fn match_reports_route_parts_and_path_info() {
        let m = router().route("/api/items/7/tags").expect("route matches");
        assert_eq!(
            m,
            RouteMatch {
                component: "items".into(),
                raw_route: "/api/items/...".into(),
                component_route: "/api/items".into(),
                path_info: "/7/tags".into(),
            }
        );
        let m = router().route("/api/health").expect("route matches");
        assert_eq!(m.path_info, "");
        let m = router().route("/x").expect("root wildcard matches");
        assert_eq!(
            (m.component_route.as_str(), m.path_info.as_str()),
            ("", "/x")
        );
    }

    #[test]
    fn private_routes_are_not_routed() {
        let r = Router::new(&[trigger("private", "hidden"), trigger("/only", "only")]);
        assert_eq!(r.route("/hidden"), None);
        assert_eq!(r.route("/"), None);
        assert_eq!(r.routes().collect::<Vec<_>>(), vec![("/only", "only")]);
    }
}
