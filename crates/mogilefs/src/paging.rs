//! The paging rules of [`Client::keys`](crate::Client::keys), as a pure state machine.
//!
//! A real 2.73 tracker matches `prefix` with SQL `LIKE`, which is case-insensitive on SQLite and
//! MySQL (`lk/` returns `LK/upper`), and, when `after` is given, also checks `after =~ /^$prefix/`
//! with the prefix used as an unescaped, case-sensitive Perl regular expression: a prefix such as
//! `lk(` fails with `ERR failure`, and an `after` that does not literally start with the prefix
//! fails with `after_mismatch`. So the pager filters keys client-side and, for every page after the
//! first, sends a prefix that the regex check cannot trip on: the longest metacharacter-free leading
//! part of the caller's prefix that `after` also starts with. That prefix selects a superset of the
//! caller's keys, and since keys come back in byte order, the listing can stop as soon as a page
//! sorts past every key that starts with the caller's prefix.

/// Bytes that have a meaning in a Perl regular expression at the start of a pattern.
const REGEX_META: &[u8] = b".[](){}*+?^$|\\";

/// What to send for the next `list_keys` page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// The `prefix` argument (`None`: omit it).
    pub(crate) prefix: Option<Vec<u8>>,
    /// The `after` argument (`None` on the first page).
    pub(crate) after: Option<Vec<u8>>,
}

/// Walks a key listing page by page; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct KeyPager {
    prefix: Vec<u8>,
    after: Option<Vec<u8>>,
    done: bool,
}

impl KeyPager {
    /// A pager over every key whose bytes start with `prefix` (empty: every key).
    pub(crate) fn new(prefix: impl Into<Vec<u8>>) -> Self {
        Self {
            prefix: prefix.into(),
            after: None,
            done: false,
        }
    }

    /// Starts the listing after `after` (exclusive), if given.
    pub(crate) fn starting_after(mut self, after: Option<Vec<u8>>) -> Self {
        self.after = after.filter(|a| !a.is_empty());
        self
    }

    /// The request for the next page, or `None` once the listing is complete.
    pub(crate) fn next_request(&self) -> Option<PageRequest> {
        if self.done {
            return None;
        }
        let prefix = match &self.after {
            // Without `after` the tracker runs no regex check: the full prefix narrows the scan most.
            None => self.prefix.clone(),
            Some(after) => safe_prefix(&self.prefix, after).to_vec(),
        };
        Some(PageRequest {
            prefix: (!prefix.is_empty()).then_some(prefix),
            after: self.after.clone(),
        })
    }

    /// Feeds one page (`none_match` is an empty page) and returns the keys that belong to the
    /// listing, in the tracker's order.
    pub(crate) fn accept<K: AsRef<[u8]>>(
        &mut self,
        keys: Vec<K>,
        next_after: Option<&[u8]>,
    ) -> Vec<K> {
        let last = next_after
            .map(<[u8]>::to_vec)
            .or_else(|| keys.last().map(|k| k.as_ref().to_vec()));
        match last {
            None => self.done = true,
            Some(last) => {
                // Guard against a tracker that does not move forward (it would loop forever).
                if self.after.as_deref().is_some_and(|a| last.as_slice() <= a)
                    || self.past_range(&last)
                {
                    self.done = true;
                }
                self.after = Some(last);
            }
        }
        keys.into_iter()
            .filter(|k| k.as_ref().starts_with(&self.prefix))
            .collect()
    }

    /// Whether `key` sorts after every key that starts with the prefix.
    fn past_range(&self, key: &[u8]) -> bool {
        key > self.prefix.as_slice() && !key.starts_with(&self.prefix)
    }

    /// Whether the listing is complete.
    #[cfg(test)]
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }
}

/// The longest metacharacter-free leading part of `prefix` that `after` also starts with.
fn safe_prefix<'a>(prefix: &'a [u8], after: &[u8]) -> &'a [u8] {
    let meta_free = prefix
        .iter()
        .position(|b| REGEX_META.contains(b))
        .unwrap_or(prefix.len());
    let common = prefix[..meta_free]
        .iter()
        .zip(after)
        .take_while(|(a, b)| a == b)
        .count();
    &prefix[..common]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(p: &KeyPager) -> (Option<String>, Option<String>) {
        let r = p.next_request().unwrap();
        let s = |v: Option<Vec<u8>>| v.map(|v| String::from_utf8(v).unwrap());
        (s(r.prefix), s(r.after))
    }

    #[test]
    fn first_page_sends_the_full_prefix() {
        let p = KeyPager::new("lk(");
        assert_eq!(req(&p), (Some("lk(".into()), None));
        assert_eq!(req(&KeyPager::new("")), (None, None));
    }

    #[test]
    fn case_insensitive_matches_are_filtered_and_paging_continues() {
        let mut p = KeyPager::new("lk/");
        let got = p.accept(vec!["LK/upper", "lk/a"], Some(b"lk/a"));
        assert_eq!(got, vec!["lk/a"]);
        assert_eq!(req(&p), (Some("lk/".into()), Some("lk/a".into())));
    }

    #[test]
    fn after_that_does_not_start_with_the_prefix_shrinks_it() {
        let mut p = KeyPager::new("lk/");
        let got = p.accept(vec!["LK/upper"], Some(b"LK/upper"));
        assert!(got.is_empty());
        // `LK/upper` sorts before `lk/`, so the range is not passed yet; "l" differs from "L".
        assert!(!p.is_done());
        assert_eq!(req(&p), (None, Some("LK/upper".into())));
    }

    #[test]
    fn metacharacters_are_never_sent_with_after() {
        for (prefix, after, sent) in [
            ("lk(", "lk(a", Some("lk")),
            ("a.b", "a.bc", Some("a")),
            ("x\\y", "x\\y1", Some("x")),
            ("(x", "(xa", None),
            ("lk_", "lk_x", Some("lk_")),
            ("lk%", "lk%y", Some("lk%")),
        ] {
            let mut p = KeyPager::new(prefix);
            p.accept(vec![after], Some(after.as_bytes()));
            assert!(!p.is_done(), "{prefix}");
            assert_eq!(
                req(&p),
                (sent.map(String::from), Some(after.to_string())),
                "{prefix}"
            );
        }
    }

    #[test]
    fn stops_once_a_page_sorts_past_the_prefix() {
        let mut p = KeyPager::new("lk(");
        let got = p.accept(vec!["lk(a", "lk/a", "lk_x"], Some(b"lk_x"));
        assert_eq!(got, vec!["lk(a"]);
        assert!(p.is_done());
        assert_eq!(p.next_request(), None);
    }

    #[test]
    fn can_start_after_a_key() {
        let p = KeyPager::new("lk(").starting_after(Some(b"lk(a".to_vec()));
        assert_eq!(req(&p), (Some("lk".into()), Some("lk(a".into())));
    }

    #[test]
    fn stops_on_an_empty_page() {
        let mut p = KeyPager::new("a");
        let got: Vec<&str> = p.accept(Vec::new(), None);
        assert!(got.is_empty());
        assert!(p.is_done());
    }

    #[test]
    fn stops_if_the_tracker_does_not_move_forward() {
        let mut p = KeyPager::new("");
        p.accept(vec!["b"], Some(b"b"));
        assert!(!p.is_done());
        p.accept(vec!["b"], Some(b"b"));
        assert!(p.is_done());
    }

    #[test]
    fn non_utf8_prefixes_page_bytewise() {
        let mut p = KeyPager::new(b"\xff\x00".to_vec());
        let keys = vec![b"\xff\x00a".to_vec(), b"\xff\x01".to_vec()];
        let got = p.accept(keys, Some(b"\xff\x01"));
        assert_eq!(got, vec![b"\xff\x00a".to_vec()]);
        assert!(p.is_done());
    }
}
