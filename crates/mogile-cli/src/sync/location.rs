//! `SRC` and `DST`: what each names, how it is opened, and whether two of them overlap.
//!
//! - `mogile://DOMAIN/PREFIX`: the global trackers (`--trackers`, the environment, the
//!   configuration); `mogilefs://DOMAIN/PREFIX?trackers=...&class=...`: trackers inline. Both are
//!   parsed by `mogile-object-store`'s URL grammar. A non-empty prefix names a folder: `photos`
//!   and `photos/` both mean the keys under `photos/`.
//! - `file:///path`, or any argument without `://`: a local directory.
//! - Any other URL: an `object_store` store, as `object_store::parse_url_opts` understands it,
//!   given the environment's options (`AWS_*`, `GOOGLE_*`, `AZURE_*`) explicitly. Cloud schemes
//!   need the CLI's cargo features `aws`, `gcp`, `azure`, `http`; `memory://` always works.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mogile_object_store::{MogileConfigKey, MogileStoreBuilder};

use super::local::LocalSide;
use super::mogile::MogileSide;
use super::side::Side;
use super::store::StoreSide;
use crate::config::Settings;
use crate::exit::{Failure, Kind};

/// A parsed `SRC` or `DST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A MogileFS domain and key prefix.
    Mogile {
        /// `host:port` each.
        trackers: Vec<String>,
        /// The domain.
        domain: String,
        /// The key prefix (empty, or ending in `/`).
        prefix: Vec<u8>,
        /// A class the URL gives, for new files.
        class: Option<String>,
    },
    /// A local directory.
    Local(PathBuf),
    /// An `object_store` URL.
    Store(String),
}

/// Parses one argument; `trackers` are the global ones.
pub(crate) fn parse(arg: &OsStr, trackers: &[String]) -> Result<Location, Failure> {
    let text = arg.to_str();
    let Some(text) = text.filter(|t| t.contains("://")) else {
        return Ok(Location::Local(PathBuf::from(arg)));
    };
    let usage = |what: &str| Failure::usage(format!("{}: {what}", crate::key_text::display(text)));
    if let Some(path) = text.strip_prefix("file://") {
        let bytes = percent_decode(path).ok_or_else(|| usage("bad percent-encoding"))?;
        if !path.starts_with('/') {
            return Err(usage("a file URL needs an absolute path (file:///...)"));
        }
        return Ok(Location::Local(PathBuf::from(bytes_os(bytes))));
    }
    let mogile = text
        .strip_prefix("mogile://")
        .map(|rest| format!("mogilefs://{rest}"))
        .or_else(|| text.starts_with("mogilefs://").then(|| text.to_string()));
    if let Some(url) = mogile {
        let mut b = MogileStoreBuilder::new().with_url(url);
        if !trackers.is_empty() {
            b = b.with_config(MogileConfigKey::Trackers, trackers.join(","));
        }
        let s = b
            .settings()
            .map_err(|e| Failure::from_error(Kind::Usage, &crate::key_text::display(text), &e))?;
        let mut prefix = s.prefix.clone();
        if !prefix.is_empty() && !prefix.ends_with(b"/") {
            prefix.push(b'/');
        }
        return Ok(Location::Mogile {
            trackers: s.trackers.clone(),
            domain: s.domain.clone(),
            prefix,
            class: s.class.clone(),
        });
    }
    Ok(Location::Store(text.to_string()))
}

#[cfg(unix)]
fn bytes_os(b: Vec<u8>) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    std::ffi::OsString::from_vec(b)
}

#[cfg(not(unix))]
fn bytes_os(b: Vec<u8>) -> std::ffi::OsString {
    String::from_utf8_lossy(&b).into_owned().into()
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Refuses a source and a destination that overlap: the same domain (on a shared tracker) with
/// nested prefixes, the same directory or one inside the other, or the same store URL with
/// nested paths.
pub(crate) fn check_overlap(src: &Location, dst: &Location) -> Result<(), Failure> {
    let nested = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let overlap = match (src, dst) {
        (
            Location::Mogile {
                trackers: t1,
                domain: d1,
                prefix: p1,
                ..
            },
            Location::Mogile {
                trackers: t2,
                domain: d2,
                prefix: p2,
                ..
            },
        ) => d1 == d2 && t1.iter().any(|t| t2.contains(t)) && nested(p1, p2),
        (Location::Local(a), Location::Local(b)) => {
            let (a, b) = (absolute(a), absolute(b));
            a.starts_with(&b) || b.starts_with(&a)
        }
        (Location::Store(a), Location::Store(b)) => {
            let (a, b) = (a.trim_end_matches('/'), b.trim_end_matches('/'));
            a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
        }
        _ => false,
    };
    if overlap {
        return Err(Failure::usage(
            "the source and the destination overlap (the same place, or one inside the other)",
        ));
    }
    Ok(())
}

/// The path made absolute and resolved as far as it exists (a destination may not exist yet).
fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    // Resolve the longest existing ancestor, keep the rest as written.
    let mut rest = Vec::new();
    let mut cur = abs.as_path();
    while let Some(parent) = cur.parent() {
        if let Some(name) = cur.file_name() {
            rest.push(name.to_owned());
        }
        if let Ok(c) = std::fs::canonicalize(parent) {
            let mut out = c;
            for n in rest.iter().rev() {
                out.push(n);
            }
            return out;
        }
        cur = parent;
    }
    abs
}

/// Opens a location as a side; MogileFS clients get the settings' timeouts and a tracker pool
/// as large as the comparisons that run at once (`lookups`).
pub(crate) fn open(loc: &Location, settings: &Settings, lookups: usize) -> Result<Side, Failure> {
    match loc {
        Location::Mogile {
            trackers,
            domain,
            prefix,
            ..
        } => {
            let mut s = settings.clone();
            s.trackers = trackers.clone();
            let pool = lookups.max(mogilefs::PoolSettings::default().max_size);
            let client = crate::commands::build_client_with_pool(&s, domain.clone(), pool)?;
            Ok(Side::Mogile(MogileSide::new(client, prefix.clone())))
        }
        Location::Local(p) => Ok(Side::Local(LocalSide::new(p.clone()))),
        Location::Store(url) => open_store(url),
    }
}

fn open_store(text: &str) -> Result<Side, Failure> {
    let url = url::Url::parse(text)
        .map_err(|e| Failure::usage(format!("{}: {e}", crate::key_text::display(text))))?;
    // `parse_url_opts` reads no environment by itself: hand it the variables of its kind.
    let opts: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            ["AWS_", "GOOGLE_", "AZURE_", "OBJECT_STORE_"]
                .iter()
                .any(|p| k.starts_with(p))
        })
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let (store, prefix) = object_store::parse_url_opts(&url, opts).map_err(|e| {
        Failure::from_error(
            Kind::Usage,
            &format!(
                "{} (cloud stores need the CLI built with the feature of their kind: aws, gcp, azure, http)",
                crate::key_text::display(text)
            ),
            &e,
        )
    })?;
    let etag_is_md5 = url.scheme() == "s3" || url.scheme() == "s3a";
    Ok(Side::Store(StoreSide::new(
        Arc::from(store),
        prefix,
        etag_is_md5,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Location {
        parse(OsStr::new(s), &["g:7001".to_string()]).unwrap()
    }

    #[test]
    fn locations() {
        assert_eq!(
            p("mogile://dom/photos"),
            Location::Mogile {
                trackers: vec!["g:7001".into()],
                domain: "dom".into(),
                prefix: b"photos/".to_vec(),
                class: None,
            }
        );
        assert_eq!(
            p("mogilefs://dom/a%20b/?trackers=t1,t2:7002&class=c"),
            Location::Mogile {
                trackers: vec!["t1:7001".into(), "t2:7002".into()],
                domain: "dom".into(),
                prefix: b"a b/".to_vec(),
                class: Some("c".into()),
            }
        );
        assert!(matches!(p("mogile://dom"), Location::Mogile { prefix, .. } if prefix.is_empty()));
        assert_eq!(p("some/dir"), Location::Local("some/dir".into()));
        assert_eq!(p("file:///tmp/a%20b"), Location::Local("/tmp/a b".into()));
        assert_eq!(p("s3://bucket/x"), Location::Store("s3://bucket/x".into()));
        assert!(
            parse(OsStr::new("mogile://dom/x"), &[]).is_err(),
            "no trackers"
        );
        assert!(parse(OsStr::new("file://rel"), &[]).is_err());
    }

    #[test]
    fn overlaps_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = |s: &str| Location::Local(dir.path().join(s));
        assert!(check_overlap(&d("a"), &d("a")).is_err());
        assert!(check_overlap(&d("a"), &d("a/b")).is_err());
        assert!(check_overlap(&d("a/b"), &d("a")).is_err());
        assert!(check_overlap(&d("a"), &d("ab")).is_ok());
        assert!(check_overlap(&p("mogile://dom/a"), &p("mogile://dom/a/b")).is_err());
        assert!(check_overlap(&p("mogile://dom"), &p("mogile://dom/b")).is_err());
        assert!(check_overlap(&p("mogile://dom/a"), &p("mogile://dom/b")).is_ok());
        assert!(check_overlap(&p("mogile://dom/a"), &p("mogile://other/a")).is_ok());
        assert!(
            check_overlap(
                &p("mogile://dom/a"),
                &p("mogilefs://dom/a?trackers=elsewhere")
            )
            .is_ok(),
            "another cluster"
        );
        assert!(check_overlap(&p("memory:///a"), &p("memory:///a/b")).is_err());
        assert!(check_overlap(&p("mogile://dom/a"), &d("a")).is_ok());
    }
}
