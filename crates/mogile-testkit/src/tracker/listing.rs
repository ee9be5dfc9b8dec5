//! `list_keys` and `list_fids`.

use regex::bytes::Regex;

use super::model::{Model, State};
use super::wire::{Pairs, Reply, ReqArgs, is_truthy, perl_num};

/// The `after !~ /^$prefix/` check of the 2.73 server: the prefix is used as an unescaped Perl regex.
///
/// It is compiled with the `regex` crate, bytes mode, Unicode off, so it matches bytes like Perl does on
/// byte strings; every non-ASCII byte is written as `\xHH`. Perl-only syntax (backreferences,
/// look-around) does not compile here and so answers `failure`, the way a bad regex does on the server.
fn after_matches_prefix(prefix: &[u8], after: &[u8]) -> Result<bool, Reply> {
    let mut pattern = String::from("(?-u)^");
    for &b in prefix {
        if b.is_ascii() {
            pattern.push(char::from(b));
        } else {
            pattern.push_str(&format!("\\x{b:02X}"));
        }
    }
    let re = Regex::new(&pattern).map_err(|_| Reply::err("failure"))?;
    Ok(re.is_match(after))
}

impl State {
    fn list_keys(&self, args: &ReqArgs) -> Reply {
        let dmid = match self.check_domain(args) {
            Ok(d) => d,
            Err(e) => return e,
        };
        let prefix = args.get("prefix").unwrap_or_default();
        let after = args.get("after").unwrap_or_default();
        if !prefix.is_empty() && is_truthy(after) {
            match after_matches_prefix(prefix, after) {
                Ok(true) => {}
                Ok(false) => return Reply::err("after_mismatch"),
                Err(e) => return e,
            }
        }
        // `$limit ||= 1000; $limit += 0; $limit = 1000 if $limit > 1000;` then SQLite `LIMIT $limit`,
        // where a negative limit means "no limit" and `abc` reads as 0.
        let limit = args.truthy("limit").map_or(1000, perl_num).min(1000);
        let limit = if limit < 0 {
            usize::MAX
        } else {
            usize::try_from(limit).unwrap_or(0)
        };
        // SQLite `LIKE` is case-insensitive for ASCII unless `case_sensitive_list_keys` is on.
        let case_sensitive = self
            .settings
            .get("case_sensitive_list_keys")
            .is_some_and(|v| v == "1");
        let matches = |key: &[u8]| {
            key.len() >= prefix.len()
                && if case_sensitive {
                    key.starts_with(prefix)
                } else {
                    key[..prefix.len()].eq_ignore_ascii_case(prefix)
                }
        };
        let keys: Vec<&[u8]> = self
            .keys
            .range((dmid, after.to_vec())..)
            .take_while(|((d, _), _)| *d == dmid)
            .map(|((_, k), _)| k.as_slice())
            .filter(|k| *k > after && matches(k))
            .take(limit)
            .collect();
        let Some(last) = keys.iter().max() else {
            return Reply::err("none_match");
        };
        let mut out = Pairs::new()
            .with("key_count", keys.len().to_string())
            .with("next_after", last);
        for (i, k) in keys.iter().enumerate() {
            out.put(format!("key_{}", i + 1), k);
        }
        out.reply()
    }

    fn list_fids(&self, args: &ReqArgs) -> Reply {
        let from = u64::try_from(args.truthy("from").map_or(0, perl_num)).unwrap_or(0);
        let mut count = args.truthy("to").map_or(0, perl_num);
        if count == 0 {
            count = 100;
        }
        if !(0..=500).contains(&count) {
            count = 500;
        }
        let mut out = Pairs::new();
        let mut n = 0;
        for (&fid, f) in self
            .files
            .range(from.saturating_add(1)..)
            .take(usize::try_from(count).unwrap_or(500))
        {
            n += 1;
            let domain = self
                .domains
                .get(&f.dmid)
                .map(|d| d.name.clone())
                .unwrap_or_default();
            let class = self
                .class(f.dmid, f.classid)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            out.put(format!("fid_{n}_fid"), fid.to_string())
                .put(format!("fid_{n}_domain"), domain)
                .put(format!("fid_{n}_class"), class)
                .put(format!("fid_{n}_key"), &f.key)
                .put(format!("fid_{n}_length"), f.length.to_string())
                .put(format!("fid_{n}_devcount"), f.devids.len().to_string());
        }
        out.put("fid_count", n.to_string());
        out.reply()
    }
}

impl Model {
    pub(crate) fn list_keys(&self, args: &ReqArgs) -> Reply {
        self.lock().list_keys(args)
    }

    pub(crate) fn list_fids(&self, args: &ReqArgs) -> Reply {
        self.lock().list_fids(args)
    }
}

#[cfg(test)]
mod tests {
    use super::after_matches_prefix;

    #[test]
    fn prefix_is_a_regex() {
        assert_eq!(after_matches_prefix(b"lk/", b"lk/b"), Ok(true));
        assert_eq!(after_matches_prefix(b"lk/", b"zz"), Ok(false));
        assert_eq!(after_matches_prefix(b"l.", b"lk/b"), Ok(true));
        assert!(after_matches_prefix(b"lk(", b"lk(a").is_err());
        assert_eq!(
            after_matches_prefix("\u{e9}".as_bytes(), "\u{e9}x".as_bytes()),
            Ok(true)
        );
    }
}
