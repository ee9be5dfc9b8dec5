//! Building a [`MogileStore`] from a URL, key-value options or the environment, the way
//! object_store's own builders do. The `mogile` CLI uses the same grammar.
//!
//! The URL is `mogilefs://DOMAIN[/PREFIX]?trackers=host1:7001,host2,[::1]:7001&class=CLASS`:
//! commas and several ports do not parse as a URL authority, so the trackers go in the query. A
//! tracker without a port gets 7001. Values may be percent-encoded. `PREFIX`, everything after
//! the domain's `/`, names a key prefix (bytes, percent-decoded, `+` kept as it is): tools such
//! as `mogile sync` read it from [`Settings::prefix`]; [`MogileStoreBuilder::build`] refuses it,
//! since a store is a whole domain (wrap the store in `object_store::prefix::PrefixStore`).

use std::str::FromStr;

use mogilefs::Client;

use crate::MogileStore;

/// The tracker port when none is given.
pub const DEFAULT_PORT: u16 = 7001;

/// Why a store could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuilderError {
    /// The URL is not `mogilefs://DOMAIN?trackers=...`.
    #[error("invalid MogileFS URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tracker address is malformed.
    #[error("invalid tracker address {0:?}")]
    InvalidTracker(String),
    /// No tracker was given.
    #[error("no trackers given (trackers=, MOGILE_TRACKERS)")]
    MissingTrackers,
    /// No domain was given.
    #[error("no domain given (the URL's host, domain=, MOGILE_DOMAIN)")]
    MissingDomain,
    /// The facade refused the settings.
    #[error("could not build the MogileFS client")]
    Client(#[source] mogilefs::Error),
    /// The URL names a key prefix, which a store (a whole domain) cannot take.
    #[error("a key prefix in the URL is not supported by a store (use PrefixStore)")]
    PrefixNotSupported,
}

/// A setting of [`MogileStoreBuilder::with_config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MogileConfigKey {
    /// Comma-separated trackers: `trackers`, `mogile_trackers`.
    Trackers,
    /// The domain: `domain`, `mogile_domain`.
    Domain,
    /// The class of new files: `class`, `mogile_class`.
    Class,
}

impl FromStr for MogileConfigKey {
    type Err = object_store::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "trackers" | "mogile_trackers" => Ok(Self::Trackers),
            "domain" | "mogile_domain" => Ok(Self::Domain),
            "class" | "mogile_class" => Ok(Self::Class),
            _ => Err(object_store::Error::UnknownConfigurationKey {
                store: crate::error::STORE,
                key: s.to_owned(),
            }),
        }
    }
}

/// Builds a [`MogileStore`] from a URL, options and the environment.
#[derive(Debug, Clone, Default)]
pub struct MogileStoreBuilder {
    url: Option<String>,
    trackers: Option<String>,
    domain: Option<String>,
    class: Option<String>,
}

impl MogileStoreBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder filled from `MOGILE_TRACKERS`, `MOGILE_DOMAIN` and `MOGILE_CLASS`.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with the variables read through `var`.
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let mut b = Self::new();
        for (name, key) in [
            ("MOGILE_TRACKERS", MogileConfigKey::Trackers),
            ("MOGILE_DOMAIN", MogileConfigKey::Domain),
            ("MOGILE_CLASS", MogileConfigKey::Class),
        ] {
            if let Some(v) = var(name) {
                b = b.with_config(key, v);
            }
        }
        b
    }

    /// Sets the URL (`mogilefs://DOMAIN?trackers=...&class=...`), parsed by [`build`](Self::build);
    /// settings given in the URL win over the others.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets one setting.
    pub fn with_config(mut self, key: MogileConfigKey, value: impl Into<String>) -> Self {
        let value = Some(value.into());
        match key {
            MogileConfigKey::Trackers => self.trackers = value,
            MogileConfigKey::Domain => self.domain = value,
            MogileConfigKey::Class => self.class = value,
        }
        self
    }

    /// The trackers (`host:port`, normalised), domain and class these settings give.
    ///
    /// # Errors
    ///
    /// [`BuilderError`] for a malformed URL or tracker, or a missing tracker or domain.
    pub fn settings(&self) -> Result<Settings, BuilderError> {
        let mut this = self.clone();
        let mut prefix = Vec::new();
        if let Some(url) = &self.url {
            let parsed = parse_url(url)?;
            this.domain = Some(parsed.domain);
            prefix = parsed.prefix;
            this.trackers = parsed.trackers.or(this.trackers);
            this.class = parsed.class.or(this.class);
        }
        let trackers = parse_trackers(this.trackers.as_deref().unwrap_or_default())?;
        if trackers.is_empty() {
            return Err(BuilderError::MissingTrackers);
        }
        let domain = this
            .domain
            .filter(|d| !d.is_empty())
            .ok_or(BuilderError::MissingDomain)?;
        Ok(Settings {
            trackers,
            domain,
            class: this.class.filter(|c| !c.is_empty()),
            prefix,
        })
    }

    /// Builds the store (no connection is made yet).
    ///
    /// # Errors
    ///
    /// [`object_store::Error::Generic`] with a [`BuilderError`] as the source, also when the
    /// URL names a key prefix ([`BuilderError::PrefixNotSupported`]).
    pub fn build(self) -> object_store::Result<MogileStore> {
        let s = self.settings().map_err(crate::error::generic)?;
        if !s.prefix.is_empty() {
            return Err(crate::error::generic(BuilderError::PrefixNotSupported));
        }
        let client = client(&s.trackers, &s.domain)
            .map_err(BuilderError::Client)
            .map_err(crate::error::generic)?;
        Ok(MogileStore::with_class(client, s.class))
    }
}

/// What a builder's settings resolve to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// `host:port` each.
    pub trackers: Vec<String>,
    /// The domain.
    pub domain: String,
    /// The class of new files.
    pub class: Option<String>,
    /// The key prefix the URL's path names (empty: none), percent-decoded bytes.
    pub prefix: Vec<u8>,
}

/// The one place this crate builds a facade client.
fn client(trackers: &[String], domain: &str) -> mogilefs::Result<Client> {
    Client::builder().trackers(trackers).domain(domain).build()
}

struct ParsedUrl {
    domain: String,
    prefix: Vec<u8>,
    trackers: Option<String>,
    class: Option<String>,
}

fn parse_url(url: &str) -> Result<ParsedUrl, BuilderError> {
    let bad = |reason| BuilderError::InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    let rest = url
        .strip_prefix("mogilefs://")
        .ok_or_else(|| bad("the scheme must be mogilefs://"))?;
    let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (domain, path) = authority.split_once('/').unwrap_or((authority, ""));
    if domain.is_empty() {
        return Err(bad("the host part must be the domain"));
    }
    let mut parsed = ParsedUrl {
        domain: decode(domain).ok_or_else(|| bad("bad percent-encoding"))?,
        // A path is not a query: `+` is itself there.
        prefix: decode_bytes(path, false).ok_or_else(|| bad("bad percent-encoding"))?,
        trackers: None,
        class: None,
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = decode(v).ok_or_else(|| bad("bad percent-encoding"))?;
        match k {
            "trackers" => parsed.trackers = Some(v),
            "class" => parsed.class = Some(v),
            _ => return Err(bad("unknown query parameter (trackers, class)")),
        }
    }
    Ok(parsed)
}

/// Decodes `%XX` escapes (and `+` as a space, as in a query) into UTF-8.
fn decode(s: &str) -> Option<String> {
    String::from_utf8(decode_bytes(s, true)?).ok()
}

/// Decodes `%XX` escapes into bytes, and `+` as a space when `plus_is_space`.
fn decode_bytes(s: &str, plus_is_space: bool) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// `host1:7001,host2,[::1]:7001` -> `["host1:7001", "host2:7001", "[::1]:7001"]`.
pub fn parse_trackers(list: &str) -> Result<Vec<String>, BuilderError> {
    list.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(normalise_tracker)
        .collect()
}

fn normalise_tracker(t: &str) -> Result<String, BuilderError> {
    let bad = || BuilderError::InvalidTracker(t.to_owned());
    let port_ok = |p: &str| p.parse::<u16>().is_ok_and(|p| p != 0);
    if let Some(rest) = t.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        if host.is_empty() {
            return Err(bad());
        }
        return match after {
            "" => Ok(format!("[{host}]:{DEFAULT_PORT}")),
            p => match p.strip_prefix(':') {
                Some(p) if port_ok(p) => Ok(t.to_owned()),
                _ => Err(bad()),
            },
        };
    }
    match t.matches(':').count() {
        0 => Ok(format!("{t}:{DEFAULT_PORT}")),
        1 => {
            let (host, port) = t.split_once(':').ok_or_else(bad)?;
            if host.is_empty() || !port_ok(port) {
                return Err(bad());
            }
            Ok(t.to_owned())
        }
        // A bare IPv6 address: no port can be told apart.
        _ => Ok(format!("[{t}]:{DEFAULT_PORT}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trackers_get_the_default_port() {
        assert_eq!(
            parse_trackers("host1:7001,host2,[::1]:7002, [fe80::1]").unwrap(),
            ["host1:7001", "host2:7001", "[::1]:7002", "[fe80::1]:7001"]
        );
        for bad in [
            "host:",
            ":7001",
            "host:x",
            "host:0",
            "[::1",
            "[::1]7001",
            "[]",
        ] {
            assert!(parse_trackers(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn url_gives_domain_trackers_and_class() {
        let s = MogileStoreBuilder::new()
            .with_url("mogilefs://photos?trackers=host1:7001,host2,[::1]:7001&class=big%20files")
            .settings()
            .unwrap();
        assert_eq!(s.domain, "photos");
        assert_eq!(s.trackers, ["host1:7001", "host2:7001", "[::1]:7001"]);
        assert_eq!(s.class.as_deref(), Some("big files"));
    }

    #[test]
    fn url_and_options_combine_and_bad_urls_are_refused() {
        let s = MogileStoreBuilder::new()
            .with_config(MogileConfigKey::Trackers, "t1,t2:7002")
            .with_config("class".parse().unwrap(), "c")
            .with_url("mogilefs://dom/")
            .settings()
            .unwrap();
        assert_eq!(s.trackers, ["t1:7001", "t2:7002"]);
        assert_eq!((s.domain.as_str(), s.class.as_deref()), ("dom", Some("c")));

        for url in [
            "s3://dom?trackers=t",
            "mogilefs://?trackers=t",
            "mogilefs:///key?trackers=t",
            "mogilefs://dom/%zz?trackers=t",
            "mogilefs://dom?tracker=t",
            "mogilefs://dom?trackers=%zz",
        ] {
            let err = MogileStoreBuilder::new()
                .with_url(url)
                .settings()
                .unwrap_err();
            assert!(
                matches!(err, BuilderError::InvalidUrl { .. }),
                "{url}: {err}"
            );
        }
        assert!(matches!(
            MogileStoreBuilder::new()
                .with_url("mogilefs://dom")
                .settings(),
            Err(BuilderError::MissingTrackers)
        ));
        assert!(matches!(
            MogileStoreBuilder::new()
                .with_config(MogileConfigKey::Trackers, "t")
                .settings(),
            Err(BuilderError::MissingDomain)
        ));
        assert!(matches!(
            "bucket".parse::<MogileConfigKey>(),
            Err(object_store::Error::UnknownConfigurationKey { .. })
        ));
    }

    #[test]
    fn from_env_reads_the_three_variables() {
        let vars = |name: &str| match name {
            "MOGILE_TRACKERS" => Some("a,b:7002".to_owned()),
            "MOGILE_DOMAIN" => Some("d".to_owned()),
            "MOGILE_CLASS" => Some("c".to_owned()),
            _ => None,
        };
        let s = MogileStoreBuilder::from_vars(vars).settings().unwrap();
        assert_eq!(s.trackers, ["a:7001", "b:7002"]);
        assert_eq!((s.domain.as_str(), s.class.as_deref()), ("d", Some("c")));
        // The URL's domain wins over the environment's.
        let s = MogileStoreBuilder::from_vars(vars)
            .with_url("mogilefs://other")
            .settings()
            .unwrap();
        assert_eq!(s.domain, "other");
    }

    #[test]
    fn url_path_is_a_key_prefix_of_bytes() {
        let s = MogileStoreBuilder::new()
            .with_url("mogilefs://dom/photos/a+b%20c%ff/?trackers=t")
            .settings()
            .unwrap();
        assert_eq!(s.domain, "dom");
        assert_eq!(s.prefix, b"photos/a+b c\xff/");
        assert_eq!(s.trackers, ["t:7001"]);
        let s = MogileStoreBuilder::new()
            .with_url("mogilefs://dom/?trackers=t")
            .settings()
            .unwrap();
        assert!(s.prefix.is_empty());
        // A store is a whole domain: a prefix is refused, not ignored.
        let err = MogileStoreBuilder::new()
            .with_url("mogilefs://dom/p/?trackers=t")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("prefix"), "{err}");
    }

    #[tokio::test]
    async fn build_gives_a_store_that_displays_trackers_and_domain() {
        let store = MogileStoreBuilder::new()
            .with_url("mogilefs://dom?trackers=127.0.0.1:7001,[::1]")
            .build()
            .unwrap();
        assert_eq!(
            store.to_string(),
            "MogileStore(127.0.0.1:7001,[::1]:7001, dom)"
        );
    }
}
