//! The soak's model: for each key, the set of contents it may hold, and the checks of
//! invariants 1-4 against what the client returns.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use mogilefs::Error;
use mogilefs::lower::tracker::Delivery;

/// A content id; `None` in a state set means "absent".
pub(crate) type Content = Option<u64>;

/// One task's keys and what they may hold. Each task owns its keys, so operations on one key are
/// sequential and the model is exact, while the client, its pools and the cluster are shared.
#[derive(Debug)]
pub(crate) struct KeyModel {
    /// Key -> admissible contents.
    states: BTreeMap<String, BTreeSet<Content>>,
    /// Content id -> bytes.
    bytes: BTreeMap<u64, Bytes>,
    /// The task's key prefix.
    pub(crate) prefix: String,
    /// Keys whose state an abandoned request may still change at any later time: observations
    /// are checked but never narrow their state.
    retired: BTreeSet<String>,
}

impl KeyModel {
    pub(crate) fn new(prefix: String, keys: &[String]) -> Self {
        Self {
            states: keys
                .iter()
                .map(|k| (k.clone(), BTreeSet::from([None])))
                .collect(),
            bytes: BTreeMap::new(),
            prefix,
            retired: BTreeSet::new(),
        }
    }

    /// Adds a key, certainly absent.
    pub(crate) fn add_key(&mut self, key: &str) {
        self.states
            .entry(key.to_owned())
            .or_insert_with(|| BTreeSet::from([None]));
    }

    /// A request on `key` was abandoned after it may have been written: the tracker may still
    /// run it, even after later requests, so the key's state is never narrowed again.
    pub(crate) fn retire(&mut self, key: &str) {
        self.retired.insert(key.to_owned());
    }

    pub(crate) fn keys(&self) -> Vec<String> {
        self.states.keys().cloned().collect()
    }

    /// The single content the key certainly holds (`Some(None)`: certainly absent).
    pub(crate) fn definite(&self, key: &str) -> Option<Content> {
        let s = &self.states[key];
        (s.len() == 1).then(|| *s.iter().next().unwrap_or(&None))
    }

    pub(crate) fn remember(&mut self, id: u64, data: Bytes) {
        self.bytes.insert(id, data);
    }

    /// The bytes of content `id`.
    pub(crate) fn bytes_of(&self, id: u64) -> Bytes {
        self.bytes[&id].clone()
    }

    /// The operation certainly left `key` holding `content`.
    pub(crate) fn set(&mut self, key: &str, content: Content) {
        self.states
            .insert(key.to_owned(), BTreeSet::from([content]));
    }

    /// The operation may or may not have left `key` holding `content`.
    pub(crate) fn maybe(&mut self, key: &str, content: Content) {
        if let Some(s) = self.states.get_mut(key) {
            s.insert(content);
        }
    }

    /// A fetch of `key` returned `data`: it must be one admissible content, byte for byte
    /// (invariants 1-4), and from now on the key holds that content.
    pub(crate) fn observe_bytes(&mut self, key: &str, data: &[u8]) -> Result<(), String> {
        let hit = self.states[key]
            .iter()
            .flatten()
            .find(|id| self.bytes[id][..] == *data)
            .copied();
        match hit {
            Some(id) => {
                if !self.retired.contains(key) {
                    self.set(key, Some(id));
                }
                Ok(())
            }
            None => Err(format!(
                "{key}: fetch returned {} bytes matching no admissible content {:?} (head {:?})",
                data.len(),
                self.states[key],
                String::from_utf8_lossy(&data[..data.len().min(40)])
            )),
        }
    }

    /// The tracker said `key` does not exist: absence must be admissible (invariant 1).
    pub(crate) fn observe_absent(&mut self, key: &str) -> Result<(), String> {
        if self.states[key].contains(&None) {
            if !self.retired.contains(key) {
                self.set(key, None);
            }
            Ok(())
        } else {
            Err(format!(
                "{key}: reported missing, but it must hold one of {:?}",
                self.states[key]
            ))
        }
    }

    /// A listing of the task's prefix returned `listed`: only the task's keys (invariant 4),
    /// every certainly present key, no certainly absent one.
    pub(crate) fn observe_listing(&mut self, listed: &BTreeSet<String>) -> Result<(), String> {
        if let Some(stranger) = listed.iter().find(|k| !self.states.contains_key(*k)) {
            return Err(format!(
                "listing of {:?} returned a key it never had: {stranger:?}",
                self.prefix
            ));
        }
        for (key, states) in &mut self.states {
            let present = listed.contains(key);
            let can_be_absent = states.contains(&None);
            let can_be_present = states.iter().any(Option::is_some);
            if present && !can_be_present || !present && !can_be_absent {
                return Err(format!(
                    "{key}: listed {present}, but it must hold one of {states:?}"
                ));
            }
            if self.retired.contains(key) {
                continue;
            }
            if present {
                states.remove(&None);
            } else {
                *states = BTreeSet::from([None]);
            }
        }
        Ok(())
    }
}

/// Whether a failed mutation may nevertheless have been applied: anything but a definite answer
/// (a tracker `ERR`) or a request that never reached a tracker in full.
pub(crate) fn may_have_applied(err: &Error) -> bool {
    match err {
        Error::OutcomeUnknown { .. } => true,
        Error::Tracker { source } => match source.delivery() {
            Delivery::NotAttempted | Delivery::NotSent => false,
            Delivery::Answered => !source.is_server(),
            _ => true,
        },
        Error::NotFound { .. }
        | Error::AlreadyExists { .. }
        | Error::UnknownDomain { .. }
        | Error::UnknownClass { .. }
        | Error::KeyPolicy { .. }
        | Error::Config { .. }
        | Error::Closed => false,
        // Be conservative about anything else.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checker itself: wrong bytes, a wrong absence and a wrong listing are caught.
    #[test]
    fn the_model_catches_violations() {
        let keys = vec!["t/a".to_owned(), "t/b".to_owned()];
        let mut m = KeyModel::new("t/".into(), &keys);
        m.remember(1, Bytes::from_static(b"one"));
        m.remember(2, Bytes::from_static(b"two"));
        m.set("t/a", Some(1));
        assert!(m.observe_bytes("t/a", b"two").is_err());
        assert!(m.observe_bytes("t/a", b"on").is_err());
        assert!(m.observe_absent("t/a").is_err());
        m.maybe("t/a", Some(2));
        assert!(m.observe_bytes("t/a", b"two").is_ok());
        assert_eq!(m.definite("t/a"), Some(Some(2)));
        assert!(
            m.observe_listing(&BTreeSet::from(["t/b".to_owned()]))
                .is_err()
        );
        let mut m2 = KeyModel::new("t/".into(), &keys);
        assert!(
            m2.observe_listing(&BTreeSet::from(["t/c".to_owned()]))
                .is_err()
        );
        assert!(m2.observe_listing(&BTreeSet::new()).is_ok());
    }
}
