//! `allowed_outbound_hosts`: which network destinations a component may reach.
//!
//! Entries read `scheme://host[:port]`. `*` may stand for the scheme, the host, a leading
//! host label (`*.example.com`) or the port; a port may be a range `8000..8100`. Without a
//! port, the scheme's default port applies. `http://self` is the application itself, and
//! `http://<component>.spin.internal` one of its components.

use std::fmt;

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Pattern,
    host: HostPattern,
    port: PortPattern,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Any,
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.suffix`: any host ending in `.suffix`.
    Subdomain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    /// Inclusive range; a single port is `n..=n`.
    Range(u16, u16),
    /// No port written: the default port of whatever scheme is used.
    SchemeDefault,
}

/// The default port of a URL scheme, when it has one.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "redis" => Some(6379),
        "rediss" => Some(6380),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "mqtt" => Some(1883),
        _ => None,
    }
}

impl AllowedHost {
    /// Parses one entry, or says what is wrong with it and how to write it.
    pub fn parse(text: &str) -> Result<AllowedHost, String> {
        let hint = "write it as \"scheme://host[:port]\", e.g. \"https://api.example.com\"";
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("`{text}` has no scheme; {hint}"))?;
        if scheme.is_empty() || rest.is_empty() {
            return Err(format!("`{text}` is incomplete; {hint}"));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return Err(format!(
                "`{text}` has a path; allowed hosts name a host only: {hint}"
            ));
        }
        let (host, port) = split_host_port(rest);
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "`{text}`: host `{host}` contains a space or a control character"
            ));
        }
        let scheme = if scheme == "*" {
            Pattern::Any
        } else {
            Pattern::Exact(scheme.to_string())
        };
        let host = match host {
            "*" => HostPattern::Any,
            h if h.starts_with("*.") => HostPattern::Subdomain(h[2..].to_ascii_lowercase()),
            h if h.contains('*') => {
                return Err(format!(
                    "`{text}`: `*` may only be the whole host or its first label"
                ));
            }
            "" => return Err(format!("`{text}` has no host; {hint}")),
            h => HostPattern::Exact(h.to_ascii_lowercase()),
        };
        let port = match port {
            None => PortPattern::SchemeDefault,
            Some("*") => PortPattern::Any,
            Some(p) => parse_port_range(p).ok_or_else(|| {
                format!(
                    "`{text}`: port `{p}` must be a number, `*` or a range such as `8000..8100`"
                )
            })?,
        };
        if port == PortPattern::SchemeDefault
            && let Pattern::Exact(s) = &scheme
            && default_port(s).is_none()
            && !is_internal(&host)
        {
            return Err(format!(
                "`{text}`: scheme `{s}` has no default port; add `:port`"
            ));
        }
        Ok(AllowedHost {
            scheme,
            host,
            port,
            text: text.to_string(),
        })
    }

    /// Whether this entry admits `scheme://host:port`.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let scheme_ok = match &self.scheme {
            Pattern::Any => true,
            Pattern::Exact(s) => s == scheme,
        };
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => *h == host,
            HostPattern::Subdomain(suffix) => {
                host.len() > suffix.len() + 1
                    && host.ends_with(suffix.as_str())
                    && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
            }
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Range(lo, hi) => (lo..=hi).contains(&port),
            PortPattern::SchemeDefault => {
                is_internal(&self.host) || default_port(scheme) == Some(port)
            }
        };
        scheme_ok && host_ok && port_ok
    }
}

fn is_internal(host: &HostPattern) -> bool {
    match host {
        HostPattern::Exact(h) => h == "self" || h.ends_with(".spin.internal"),
        HostPattern::Subdomain(s) => s == "spin.internal",
        HostPattern::Any => false,
    }
}

fn split_host_port(rest: &str) -> (&str, Option<&str>) {
    if let Some(v6) = rest.strip_prefix('[')
        && let Some((host, after)) = v6.split_once(']')
    {
        return (host, after.strip_prefix(':'));
    }
    match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    }
}

fn parse_port_range(p: &str) -> Option<PortPattern> {
    match p.split_once("..") {
        Some((lo, hi)) => {
            let (lo, hi) = (lo.parse().ok()?, hi.parse().ok()?);
            (lo <= hi).then_some(PortPattern::Range(lo, hi))
        }
        None => p.parse().ok().map(|n| PortPattern::Range(n, n)),
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A component's whole `allowed_outbound_hosts` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts(Vec<AllowedHost>);

impl AllowedHosts {
    /// Parses every entry; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowedHosts, String> {
        entries
            .iter()
            .map(|e| AllowedHost::parse(e.as_ref()))
            .collect::<Result<_, _>>()
            .map(AllowedHosts)
    }

    /// Parses every entry after `render` has replaced its `{{ variable }}` templates; the
    /// first entry that does not render to a valid pattern is the error.
    pub fn parse_rendered<S: AsRef<str>>(
        entries: &[S],
        render: impl Fn(&str) -> Result<String, String>,
    ) -> Result<AllowedHosts, String> {
        let parse = |entry: &str| {
            if !entry.contains("{{") {
                return AllowedHost::parse(entry);
            }
            let rendered = render(entry).map_err(|e| format!("`{entry}`: {e}"))?;
            AllowedHost::parse(&rendered).map_err(|e| {
                format!("`{entry}` renders to `{rendered}`, which is not a host pattern: {e}")
            })
        };
        entries
            .iter()
            .map(|e| parse(e.as_ref()))
            .collect::<Result<_, _>>()
            .map(AllowedHosts)
    }

    /// Whether any entry admits `scheme://host:port`.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.0.iter().any(|h| h.allows(scheme, host, port))
    }

    /// Whether any entry admits the destination of `url` (`scheme://host[:port][/...]`).
    pub fn allows_url(&self, url: &str) -> bool {
        match Destination::from_url(url) {
            Some(d) => self.allows(&d.scheme, &d.host, d.port),
            None => false,
        }
    }
}

/// The scheme, host and port a URL points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Destination {
    /// Splits `scheme://[user@]host[:port][/path]`; `None` when the port is unknown.
    pub fn from_url(url: &str) -> Option<Destination> {
        let (scheme, rest) = url.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = split_host_port(authority);
        let port = match port {
            Some(p) => p.parse().ok()?,
            None => default_port(scheme).unwrap_or(0),
        };
        Some(Destination {
            scheme: scheme.to_string(),
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// `scheme://host:port`, as an `allowed_outbound_hosts` entry would admit it.
    pub fn entry(&self) -> String {
        match default_port(&self.scheme) {
            Some(p) if p == self.port => format!("{}://{}", self.scheme, self.host),
            _ if self.port == 0 => format!("{}://{}", self.scheme, self.host),
            _ => format!("{}://{}:{}", self.scheme, self.host, self.port),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(entries).expect("test entries are valid")
    }

    #[test]
    fn exact_host_allows_its_default_port_only() {
        let h = hosts(&["https://api.example.com"]);
        assert!(h.allows("https", "api.example.com", 443));
        assert!(h.allows("https", "API.example.com", 443));
        assert!(!h.allows("https", "api.example.com", 8443));
        assert!(!h.allows("http", "api.example.com", 80));
        assert!(!h.allows("https", "example.com", 443));
    }

    #[test]
    fn wildcards_cover_scheme_host_label_and_port() {
        let h = hosts(&[
            "*://localhost:*",
            "https://*.example.com",
            "http://127.0.0.1:8000..8010",
        ]);
        assert!(h.allows("redis", "localhost", 6379));
        assert!(h.allows("https", "a.example.com", 443));
        assert!(!h.allows("https", "example.com", 443));
        assert!(!h.allows("https", "badexample.com", 443));
        assert!(h.allows("http", "127.0.0.1", 8010));
        assert!(!h.allows("http", "127.0.0.1", 8011));
    }

    #[test]
    fn internal_hosts_ignore_ports() {
        let h = hosts(&["http://self", "http://greeter.spin.internal"]);
        assert!(h.allows("http", "self", 80));
        assert!(h.allows("http", "greeter.spin.internal", 80));
        assert!(!h.allows("http", "other.spin.internal", 80));
    }

    #[test]
    fn bad_entries_say_how_to_write_them() {
        assert_eq!(
            AllowedHost::parse("example.com"),
            Err("`example.com` has no scheme; write it as \"scheme://host[:port]\", e.g. \"https://api.example.com\"".into())
        );
        assert_eq!(
            AllowedHost::parse("https://ex*.com"),
            Err("`https://ex*.com`: `*` may only be the whole host or its first label".into())
        );
        assert_eq!(
            AllowedHost::parse("tcp://db"),
            Err("`tcp://db`: scheme `tcp` has no default port; add `:port`".into())
        );
        assert!(AllowedHost::parse("https://example.com/path").is_err());
        assert!(AllowedHost::parse("http://h:9..1").is_err());
    }

    #[test]
    fn templated_entries_are_parsed_once_rendered() {
        let render = |entry: &str| Ok(entry.replace("{{ upstream }}", "127.0.0.1"));
        let hosts = AllowedHosts::parse_rendered(&["http://{{ upstream }}:3098"], render)
            .expect("the entry renders to a valid pattern");
        assert!(hosts.allows("http", "127.0.0.1", 3098));
        assert!(!hosts.allows("http", "127.0.0.1", 3099));

        let spaced = |entry: &str| Ok(entry.replace("{{ upstream }}", "bad host"));
        assert_eq!(
            AllowedHosts::parse_rendered(&["http://{{ upstream }}:3098"], spaced),
            Err(
                "`http://{{ upstream }}:3098` renders to `http://bad host:3098`, which is not a \
                 host pattern: `http://bad host:3098`: host `bad host` contains a space or a \
                 control character"
                    .into()
            )
        );
        let failing = |_: &str| Err("a `{{` is not closed by `}}`".to_string());
        assert_eq!(
            AllowedHosts::parse_rendered(&["http://{{ upstream"], failing),
            Err("`http://{{ upstream`: a `{{` is not closed by `}}`".into())
        );
    }

    #[test]
    fn urls_split_into_destinations() {
        let d = Destination::from_url("https://user@api.example.com/v1?x=1").expect("valid url");
        assert_eq!(
            d,
            Destination {
                scheme: "https".into(),
                host: "api.example.com".into(),
                port: 443
            }
        );
        assert_eq!(d.entry(), "https://api.example.com");
        let d = Destination::from_url("redis://127.0.0.1:6380").expect("valid url");
        assert_eq!(d.entry(), "redis://127.0.0.1:6380");
        assert!(hosts(&["redis://127.0.0.1:6380"]).allows_url("redis://127.0.0.1:6380"));
        assert!(!hosts(&["redis://127.0.0.1"]).allows_url("redis://127.0.0.1:6380"));
    }
}
