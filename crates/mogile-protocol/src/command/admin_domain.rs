//! Domains: `get_domains` (with their classes), `create_domain`, `delete_domain`.

use super::{Command, CommandKind, ErrorMeaning, indexed_rows, push_num, string};
use crate::args::{ArgSink, Args};
use crate::error::DecodeError;
use crate::error_code::ErrorCode;
use crate::types::HashType;

unit_struct! {
    /// `get_domains`: every domain with its classes.
    GetDomains
}

/// A class as `get_domains` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassInfo {
    /// The class name (`default` included).
    pub name: String,
    /// The minimum number of replicas.
    pub mindevcount: u32,
    /// The replication policy, e.g. `MultipleHosts()`.
    pub replpolicy: String,
    /// The checksum algorithm; `None` for `NONE`.
    pub hashtype: Option<HashType>,
}

/// A domain as `get_domains` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainInfo {
    /// The domain name.
    pub name: String,
    /// Its classes, in reply order.
    pub classes: Vec<ClassInfo>,
}

/// Parses a `hashtype` value: `NONE` (or empty) is `None`.
pub(crate) fn parse_hashtype(field: &str, v: &[u8]) -> Result<Option<HashType>, DecodeError> {
    match v {
        b"NONE" | b"" => Ok(None),
        _ => std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| DecodeError::bad_field(field, v)),
    }
}

fn hashtype_str(h: Option<HashType>) -> &'static str {
    h.map_or("NONE", |h| h.as_str())
}

impl Command for GetDomains {
    const NAME: &'static str = "get_domains";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = true;
    type Output = Vec<DomainInfo>;

    fn write_args(&self, _args: &mut impl ArgSink) {}

    /// Keys have no separators: `domain<i>`, `domain<i>classes`, `domain<i>class<j>name`, ...
    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        indexed_rows(args, "domains", "domain")?
            .into_iter()
            .enumerate()
            .map(|(i, fields)| {
                let d = format!("domain{}", i + 1);
                let sub: Args = fields.into_iter().collect();
                let name = string(&sub, "").map_err(|_| DecodeError::missing(&d))?;
                let classes = indexed_rows(&sub, "classes", "class")
                    .map_err(|e| rename_field(e, &d))?
                    .into_iter()
                    .enumerate()
                    .map(|(j, fields)| {
                        let c = format!("{d}class{}", j + 1);
                        let row: Args = fields.into_iter().collect();
                        let named = |e: DecodeError| rename_field(e, &c);
                        Ok(ClassInfo {
                            name: string(&row, "name").map_err(named)?,
                            mindevcount: row.parse("mindevcount").map_err(named)?,
                            replpolicy: string(&row, "replpolicy").map_err(named)?,
                            hashtype: parse_hashtype(
                                &format!("{c}hashtype"),
                                row.required("hashtype").map_err(named)?,
                            )?,
                        })
                    })
                    .collect::<Result<_, DecodeError>>()?;
                Ok(DomainInfo { name, classes })
            })
            .collect()
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        push_num(args, "domains", out.len());
        for (i, d) in out.iter().enumerate() {
            let p = format!("domain{}", i + 1);
            args.push(&p, &d.name);
            push_num(args, &format!("{p}classes"), d.classes.len());
            for (j, c) in d.classes.iter().enumerate() {
                let q = format!("{p}class{}", j + 1);
                args.push(format!("{q}name"), &c.name);
                push_num(args, &format!("{q}mindevcount"), c.mindevcount);
                args.push(format!("{q}replpolicy"), &c.replpolicy);
                args.push(format!("{q}hashtype"), hashtype_str(c.hashtype));
            }
        }
    }
}

/// Prefixes the field named in a decode error with the row it belongs to.
fn rename_field(e: DecodeError, prefix: &str) -> DecodeError {
    match e {
        DecodeError::MissingField(f) => DecodeError::MissingField(format!("{prefix}{f}")),
        DecodeError::BadField { field, value } => DecodeError::BadField {
            field: format!("{prefix}{field}"),
            value,
        },
        other => other,
    }
}

/// `create_domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateDomain {
    /// The new domain.
    pub domain: String,
}

impl CreateDomain {
    /// Creates `domain`.
    pub fn new(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
        }
    }
}

impl Command for CreateDomain {
    const NAME: &'static str = "create_domain";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = false;
    /// The domain name echoed by the tracker.
    type Output = String;

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("domain", &self.domain);
    }

    fn parse_ok(args: &Args) -> Result<String, DecodeError> {
        string(args, "domain")
    }

    fn encode_output(out: &String, args: &mut Args) {
        args.push("domain", out);
    }
    /// `domain_exists`.
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        match code {
            ErrorCode::DomainExists => ErrorMeaning::AlreadyExists,
            other => ErrorMeaning::any_command(other),
        }
    }
}

/// `delete_domain` (refused while it has files or non-default classes).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteDomain {
    /// The domain.
    pub domain: String,
}

impl DeleteDomain {
    /// Deletes `domain`.
    pub fn new(domain: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
        }
    }
}

impl Command for DeleteDomain {
    const NAME: &'static str = "delete_domain";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = false;
    /// The domain name echoed by the tracker.
    type Output = String;

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("domain", &self.domain);
    }

    fn parse_ok(args: &Args) -> Result<String, DecodeError> {
        string(args, "domain")
    }

    fn encode_output(out: &String, args: &mut Args) {
        args.push("domain", out);
    }
    /// The domain check (`domain_not_found`).
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        ErrorMeaning::in_domain(code)
    }
}
