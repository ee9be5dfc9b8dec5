//! `--include` and `--exclude`: globs over keys relative to each side's prefix, applied to both
//! sides alike, so an excluded key is neither copied nor deleted.
//!
//! - `*` and `?` stay within one `/`-separated segment, `**` crosses them, `[...]` is a class;
//! - a pattern without `/` matches the last segment at any depth (`*.tmp`), as rsync's do;
//! - a pattern starting with `/` is anchored at the prefix; one ending in `/` matches everything
//!   under that folder.
//!
//! A key passes when it matches some `--include` (or none is given) and no `--exclude`.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// The compiled filters.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl Filter {
    /// Compiles the patterns; the error names the bad one.
    pub(crate) fn new(include: &[String], exclude: &[String]) -> Result<Self, String> {
        Ok(Self {
            include: set(include)?,
            exclude: set(exclude)?,
        })
    }

    /// Whether `key` (relative to the prefix) is synced.
    pub(crate) fn admits(&self, key: &[u8]) -> bool {
        let included = self
            .include
            .as_ref()
            .is_none_or(|s| s.is_match(as_path(key)));
        included
            && !self
                .exclude
                .as_ref()
                .is_some_and(|s| s.is_match(as_path(key)))
    }
}

/// A key as a path for globset, which matches the bytes on Unix.
fn as_path(key: &[u8]) -> &std::path::Path {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::path::Path::new(std::ffi::OsStr::from_bytes(key))
    }
    #[cfg(not(unix))]
    {
        // Elsewhere a key that is not UTF-8 matches as if empty.
        std::path::Path::new(std::str::from_utf8(key).unwrap_or(""))
    }
}

fn set(patterns: &[String]) -> Result<Option<GlobSet>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(glob(p)?);
    }
    b.build().map(Some).map_err(|e| e.to_string())
}

fn glob(pattern: &str) -> Result<Glob, String> {
    let mut p = pattern.to_string();
    if p.ends_with('/') {
        p.push_str("**");
    }
    let p = match p.strip_prefix('/') {
        Some(anchored) => anchored.to_string(),
        None if !p.contains('/') => format!("**/{p}"),
        None => p,
    };
    GlobBuilder::new(&p)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("bad pattern `{pattern}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(include: &[&str], exclude: &[&str]) -> Filter {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Filter::new(&v(include), &v(exclude)).unwrap()
    }

    #[test]
    fn patterns() {
        let none = Filter::default();
        assert!(none.admits(b"anything/at/all"));
        let ex = f(&[], &["*.tmp", "/cache/", "logs/*.gz"]);
        assert!(!ex.admits(b"a.tmp"));
        assert!(!ex.admits(b"deep/er/a.tmp"));
        assert!(ex.admits(b"a.tmpx"));
        assert!(!ex.admits(b"cache/x/y"));
        assert!(ex.admits(b"sub/cache/x"));
        assert!(!ex.admits(b"logs/1.gz"));
        assert!(ex.admits(b"logs/old/1.gz"));
        let inc = f(&["*.jpg"], &["private/**"]);
        assert!(inc.admits(b"a/b.jpg"));
        assert!(!inc.admits(b"a/b.png"));
        assert!(!inc.admits(b"private/b.jpg"));
        assert!(f(&[], &["caf\u{e9}"]).admits(b"caf\xff"));
        assert!(Filter::new(&["[".to_string()], &[]).is_err());
    }
}
