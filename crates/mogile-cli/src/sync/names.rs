//! Keys that cannot live together in a directory tree.

use crate::key_text::display;

/// Names that cannot live together in a directory tree: a file `a` beside `a/b` (checked on the
/// source's sorted keys with a stack: any key that is a folder of a later key is a prefix of
/// every key between them), and, on a case-insensitive filesystem, two keys that differ only in
/// case (checked against the keys seen, folded).
#[derive(Debug)]
pub(crate) struct NameCheck {
    on: bool,
    stack: Vec<Vec<u8>>,
    pub(crate) fold_case: bool,
    folded: std::collections::HashMap<Vec<u8>, Vec<u8>>,
}

impl NameCheck {
    pub(crate) fn new(local_destination: bool) -> Self {
        Self {
            on: local_destination,
            stack: Vec::new(),
            fold_case: false,
            folded: std::collections::HashMap::new(),
        }
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
        if self.fold_case {
            let folded = key.to_ascii_lowercase();
            if let Some(first) = self.folded.get(&folded) {
                return Some(format!(
                    "differs from {} only in case, on a case-insensitive filesystem",
                    display(first)
                ));
            }
            self.folded.insert(folded, key.to_vec());
        }
        None
    }
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

    #[test]
    fn case_folding_conflicts() {
        let mut n = NameCheck::new(true);
        n.fold_case = true;
        assert_eq!(n.check(b"A/x"), None);
        assert_eq!(n.check(b"B"), None);
        assert!(n.check(b"a/X").is_some());
    }
}
