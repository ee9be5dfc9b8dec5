//! Keys that cannot live together in a directory tree.

use std::collections::HashMap;
use std::io;

use super::sort::Entry;
use crate::key_text::display;

/// Names that cannot live together in a directory tree: a file `a` beside `a/b` (checked on the
/// source's sorted keys with a stack: any key that is a folder of a later key is a prefix of
/// every key between them), and, on a case-insensitive filesystem, a key, or a folder on its path,
/// whose name differs only in case from one before it in byte order. The case conflicts come from
/// an external sort of folded names ([`folded_entries`], [`case_conflicts`]), so what is held in
/// memory is the conflicts, never the keys.
#[derive(Debug)]
pub(crate) struct NameCheck {
    on: bool,
    stack: Vec<Vec<u8>>,
    /// Names that lose to an earlier name differing only in case, with that earlier name.
    case: HashMap<Vec<u8>, Vec<u8>>,
}

impl NameCheck {
    pub(crate) fn new(local_destination: bool) -> Self {
        Self {
            on: local_destination,
            stack: Vec::new(),
            case: HashMap::new(),
        }
    }

    /// Checks names against these case conflicts too (see [`case_conflicts`]).
    pub(crate) fn with_case_conflicts(mut self, conflicts: HashMap<Vec<u8>, Vec<u8>>) -> Self {
        self.case = conflicts;
        self
    }

    /// Why `key` cannot be written beside the keys before it, if it cannot.
    pub(crate) fn check(&mut self, key: &[u8]) -> Option<String> {
        if !self.on {
            return None;
        }
        while let Some(top) = self.stack.last() {
            if key.starts_with(top) {
                break;
            }
            self.stack.pop();
        }
        if let Some(top) = self.stack.last() {
            if key.get(top.len()) == Some(&b'/') {
                return Some(format!(
                    "the key {} is a file, so it cannot also be a folder in a directory tree",
                    display(top)
                ));
            }
        }
        self.stack.push(key.to_vec());
        for end in name_ends(key) {
            let name = &key[..end];
            if let Some(first) = self.case.get(name) {
                let what = if end == key.len() {
                    String::new()
                } else {
                    format!("its folder {} ", display(name))
                };
                return Some(format!(
                    "{what}differs from {} only in case, on a case-insensitive filesystem",
                    display(first)
                ));
            }
        }
        None
    }
}

/// Where each name on `key`'s path ends: every folder, then the key itself.
fn name_ends(key: &[u8]) -> impl Iterator<Item = usize> + '_ {
    key.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .map(|(i, _)| i)
        .chain(std::iter::once(key.len()))
}

/// The entries `key` adds to the case-folding sort: one per name on its path (each folder, and
/// the key), as the folded name's length (8 bytes, big-endian), the folded name, then the name
/// itself. Byte order then groups the names that fold alike, each group in the names' own byte
/// order.
pub(crate) fn folded_entries(key: &[u8]) -> impl Iterator<Item = Entry> + '_ {
    name_ends(key).map(move |end| {
        let name = &key[..end];
        let mut k = Vec::with_capacity(8 + 2 * name.len());
        k.extend_from_slice(&(name.len() as u64).to_be_bytes());
        k.extend(name.iter().map(u8::to_ascii_lowercase));
        k.extend_from_slice(name);
        Entry { key: k, size: None }
    })
}

/// Reads the sorted [`folded_entries`]: every name that folds like a name before it in byte
/// order, but is not that name, mapped to it. Memory grows with the conflicts only.
pub(crate) fn case_conflicts(
    sorted: impl Iterator<Item = io::Result<Entry>>,
) -> io::Result<HashMap<Vec<u8>, Vec<u8>>> {
    let mut conflicts = HashMap::new();
    // The current group: its length and folded name, and its first name.
    let mut group: Option<(Vec<u8>, Vec<u8>)> = None;
    for entry in sorted {
        let key = entry?.key;
        let Some(len) = key
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .and_then(|b| usize::try_from(u64::from_be_bytes(b)).ok())
        else {
            continue;
        };
        let Some((head, name)) = 8usize
            .checked_add(len)
            .filter(|&at| at <= key.len())
            .map(|at| key.split_at(at))
        else {
            continue;
        };
        match &group {
            Some((h, first)) if h.as_slice() == head => {
                if name != first.as_slice() && !conflicts.contains_key(name) {
                    conflicts.insert(name.to_vec(), first.clone());
                }
            }
            _ => group = Some((head.to_vec(), name.to_vec())),
        }
    }
    Ok(conflicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_cannot_also_be_a_folder() {
        let mut n = NameCheck::new(true);
        assert_eq!(n.check(b"a"), None);
        assert_eq!(n.check(b"a.txt"), None);
        assert!(n.check(b"a/b").is_some());
        assert_eq!(n.check(b"b/c"), None);
        assert_eq!(n.check(b"b/d"), None);
        assert_eq!(n.check(b"ba"), None);
        let mut off = NameCheck::new(false);
        off.check(b"a");
        assert_eq!(off.check(b"a/b"), None);
    }

    fn conflicts_of(keys: &[&[u8]]) -> HashMap<Vec<u8>, Vec<u8>> {
        let mut entries: Vec<Entry> = keys.iter().flat_map(|k| folded_entries(k)).collect();
        entries.sort();
        case_conflicts(entries.into_iter().map(Ok)).unwrap()
    }

    #[test]
    fn case_folding_conflicts() {
        let keys: [&[u8]; 5] = [b"A/x", b"B", b"a/X", b"b/c", b"c"];
        let conflicts = conflicts_of(&keys);
        // Only the losers are held, each with the name it loses to (the first in byte order):
        // the folder `a` and the key `a/X` lose to `A` and `A/x`, the folder `b` to the file `B`.
        assert_eq!(
            conflicts,
            HashMap::from([
                (b"a".to_vec(), b"A".to_vec()),
                (b"a/X".to_vec(), b"A/x".to_vec()),
                (b"b".to_vec(), b"B".to_vec()),
            ])
        );
        let mut n = NameCheck::new(true).with_case_conflicts(conflicts);
        assert_eq!(n.check(b"A/x"), None);
        assert_eq!(n.check(b"B"), None);
        let folder = n.check(b"a/X").unwrap();
        assert!(folder.contains("folder"), "{folder}");
        assert!(n.check(b"b/c").is_some());
        assert_eq!(n.check(b"c"), None);
    }

    #[test]
    fn same_names_repeated_are_no_conflict() {
        let keys: [&[u8]; 4] = [b"Photos/1", b"Photos/2", b"Photos/a/3", b"README"];
        assert!(conflicts_of(&keys).is_empty());
        let keys: [&[u8]; 2] = [b"Readme", b"README"];
        assert_eq!(
            conflicts_of(&keys),
            HashMap::from([(b"Readme".to_vec(), b"README".to_vec())])
        );
    }
}
