//! `list_keys` and `list_fids`: paging through a domain or through all files.

use super::{
    Command, CommandKind, ErrorMeaning, indexed_map, key, push_num, push_opt, push_opt_num, rows,
};
use crate::args::{ArgSink, Args};
use crate::error::{DecodeError, ReplyError};
use crate::error_code::ErrorCode;
use crate::key::Key;
use crate::response::ErrLine;
use crate::types::Fid;

/// `list_keys`: one page of keys, in the database's order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListKeys {
    /// The domain.
    pub domain: String,
    /// Only keys starting with this.
    pub prefix: Option<Key>,
    /// Only keys after this one (exclusive cursor: the previous page's `next_after`).
    pub after: Option<Key>,
    /// The page size (the tracker clamps it to 1..=1000, default 1000).
    pub limit: Option<u32>,
}

impl ListKeys {
    /// The first page of `domain`.
    pub fn new(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            prefix: None,
            after: None,
            limit: None,
        }
    }

    /// Sets the prefix.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<Key>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Sets the cursor.
    #[must_use]
    pub fn after(mut self, after: impl Into<Key>) -> Self {
        self.after = Some(after.into());
        self
    }

    /// Sets the page size.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// One page of keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPage {
    /// The keys, in the tracker's order.
    pub keys: Vec<Key>,
    /// The cursor for the next page (the greatest key returned); `None` on an empty page.
    pub next_after: Option<Key>,
}

impl Command for ListKeys {
    const NAME: &'static str = "list_keys";
    const KIND: CommandKind = CommandKind::File;
    const IDEMPOTENT: bool = true;
    type Output = KeyPage;

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("domain", &self.domain);
        push_opt(args, "prefix", self.prefix.as_ref());
        push_opt(args, "after", self.after.as_ref());
        push_opt_num(args, "limit", self.limit);
    }

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        let keys = indexed_map(args, "key_count", "key_", |_, v| Ok(Key::from(v)))?;
        let next_after = match args.get("next_after") {
            Some(_) => Some(key(args, "next_after")?),
            None if keys.is_empty() => None,
            None => return Err(DecodeError::missing("next_after")),
        };
        Ok(KeyPage { keys, next_after })
    }

    /// `ERR none_match` is the tracker's way of saying "empty page": it becomes an empty
    /// [`KeyPage`], not an error.
    fn parse_err(err: ErrLine) -> Result<Self::Output, ReplyError> {
        if err.code == ErrorCode::NoneMatch {
            Ok(KeyPage::default())
        } else {
            Err(ReplyError::Tracker(err))
        }
    }

    /// Writes `key_count`, `key_N` and `next_after`. A real tracker answers an empty page with
    /// `ERR none_match` instead; a server should do the same.
    fn encode_output(out: &Self::Output, args: &mut Args) {
        push_num(args, "key_count", out.keys.len());
        for (i, k) in out.keys.iter().enumerate() {
            args.push(format!("key_{}", i + 1), k);
        }
        push_opt(args, "next_after", out.next_after.as_ref());
    }

    /// The domain check. (`none_match` never reaches here: it is an empty page.)
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        ErrorMeaning::in_domain(code)
    }
}

/// `list_fids`: files by fid, whatever their domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ListFids {
    /// Start after this fid (wire `from`).
    pub from: Option<Fid>,
    /// How many rows (wire `to`, which is a count: default 100, max 500).
    pub count: Option<u32>,
}

impl ListFids {
    /// The first page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the starting fid.
    #[must_use]
    pub fn from(mut self, from: Fid) -> Self {
        self.from = Some(from);
        self
    }

    /// Sets the row count.
    #[must_use]
    pub fn count(mut self, count: u32) -> Self {
        self.count = Some(count);
        self
    }
}

/// One `list_fids` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FidRow {
    /// The fid.
    pub fid: Fid,
    /// The domain.
    pub domain: String,
    /// The class.
    pub class: String,
    /// The key.
    pub key: Key,
    /// The length in bytes.
    pub length: u64,
    /// The number of replicas.
    pub devcount: u32,
}

impl Command for ListFids {
    const NAME: &'static str = "list_fids";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    type Output = Vec<FidRow>;

    fn write_args(&self, args: &mut impl ArgSink) {
        push_opt_num(args, "from", self.from);
        push_opt_num(args, "to", self.count);
    }

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        rows(args, "fid_count", "fid_")?
            .into_iter()
            .map(|row| {
                Ok(FidRow {
                    fid: row.parse("_fid")?,
                    domain: row.string("_domain")?,
                    class: row.string("_class")?,
                    key: Key::from(row.required("_key")?),
                    length: row.parse("_length")?,
                    devcount: row.parse("_devcount")?,
                })
            })
            .collect()
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        push_num(args, "fid_count", out.len());
        for (i, r) in out.iter().enumerate() {
            let p = format!("fid_{}", i + 1);
            push_num(args, &format!("{p}_fid"), r.fid);
            args.push(format!("{p}_domain"), &r.domain);
            args.push(format!("{p}_class"), &r.class);
            args.push(format!("{p}_key"), &r.key);
            push_num(args, &format!("{p}_length"), r.length);
            push_num(args, &format!("{p}_devcount"), r.devcount);
        }
    }
}
