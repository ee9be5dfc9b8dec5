//! Classes: `create_class`, `update_class`, `delete_class`.

use super::{Command, CommandKind, ErrorMeaning, push_num, push_opt, string};
use crate::args::{ArgSink, Args};
use crate::error::DecodeError;
use crate::error_code::ErrorCode;
use crate::types::HashType;

/// The arguments shared by `create_class` and `update_class`.
fn write_class_args(
    args: &mut impl ArgSink,
    domain: &str,
    class: &str,
    mindevcount: u32,
    replpolicy: Option<&String>,
    hashtype: Option<Option<HashType>>,
) {
    args.push("domain", domain);
    args.push("class", class);
    push_num(args, "mindevcount", mindevcount);
    push_opt(args, "replpolicy", replpolicy);
    push_opt(
        args,
        "hashtype",
        hashtype.map(|h| h.map_or("NONE", |h| h.as_str())),
    );
}

/// What `create_class` and `update_class` echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassOutput {
    /// The domain.
    pub domain: String,
    /// The class.
    pub class: String,
    /// The minimum replica count.
    pub mindevcount: u32,
}

fn parse_class_output(args: &Args) -> Result<ClassOutput, DecodeError> {
    Ok(ClassOutput {
        domain: string(args, "domain")?,
        class: string(args, "class")?,
        mindevcount: args.parse("mindevcount")?,
    })
}

fn encode_class_output(out: &ClassOutput, args: &mut Args) {
    args.push("domain", &out.domain);
    args.push("class", &out.class);
    push_num(args, "mindevcount", out.mindevcount);
}

macro_rules! class_command {
    (
        $(#[$doc:meta])* $name:ident = $wire:literal, idempotent: $idem:literal,
        $(#[$meaning_doc:meta])* error_meaning: $meaning:path
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $name {
            /// The domain.
            pub domain: String,
            /// The class.
            pub class: String,
            /// The minimum replica count (at least 1; required by the tracker).
            pub mindevcount: u32,
            /// The replication policy, e.g. `MultipleHosts(2)`; kept as is when absent.
            pub replpolicy: Option<String>,
            /// The checksum algorithm: `None` leaves it, `Some(None)` sends `NONE`.
            pub hashtype: Option<Option<HashType>>,
        }

        impl $name {
            /// The command for `class` in `domain`.
            pub fn new(domain: impl Into<String>, class: impl Into<String>, mindevcount: u32) -> Self {
                Self {
                    domain: domain.into(),
                    class: class.into(),
                    mindevcount,
                    replpolicy: None,
                    hashtype: None,
                }
            }

            /// Sets the replication policy.
            #[must_use]
            pub fn replpolicy(mut self, replpolicy: impl Into<String>) -> Self {
                self.replpolicy = Some(replpolicy.into());
                self
            }

            /// Sets the checksum algorithm (`None` for `NONE`).
            #[must_use]
            pub fn hashtype(mut self, hashtype: Option<HashType>) -> Self {
                self.hashtype = Some(hashtype);
                self
            }
        }

        impl Command for $name {
            const NAME: &'static str = $wire;
            const KIND: CommandKind = CommandKind::Admin;
            const IDEMPOTENT: bool = $idem;
            type Output = ClassOutput;

            fn write_args(&self, args: &mut impl ArgSink) {
                write_class_args(
                    args,
                    &self.domain,
                    &self.class,
                    self.mindevcount,
                    self.replpolicy.as_ref(),
                    self.hashtype,
                );
            }

            fn parse_ok(args: &Args) -> Result<ClassOutput, DecodeError> {
                parse_class_output(args)
            }

            fn encode_output(out: &ClassOutput, args: &mut Args) {
                encode_class_output(out, args);
            }
            $(#[$meaning_doc])*
            fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
                $meaning(code)
            }
        }
    };
}

class_command! {
    /// `create_class`.
    CreateClass = "create_class", idempotent: false,
    /// `class_exists`; the domain check (`domain_not_found`).
    error_meaning: create_class_meaning
}

class_command! {
    /// `update_class` (the admin command; the file command is
    /// [`UpdateFileClass`](super::UpdateFileClass), wire `updateclass`).
    UpdateClass = "update_class", idempotent: false,
    /// The class lookup (`class_not_found`) and the domain check (`domain_not_found`).
    error_meaning: ErrorMeaning::in_class
}

fn create_class_meaning(code: &ErrorCode) -> ErrorMeaning {
    match code {
        ErrorCode::ClassExists => ErrorMeaning::AlreadyExists,
        other => ErrorMeaning::in_class(other),
    }
}

/// `delete_class` (refused for `default` and while the class has files).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteClass {
    /// The domain.
    pub domain: String,
    /// The class.
    pub class: String,
}

impl DeleteClass {
    /// Deletes `class` from `domain`.
    pub fn new(domain: impl Into<String>, class: impl Into<String>) -> Self {
        Self {
            domain: domain.into(),
            class: class.into(),
        }
    }
}

/// What `delete_class` echoes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteClassOutput {
    /// The domain.
    pub domain: String,
    /// The class.
    pub class: String,
}

impl Command for DeleteClass {
    const NAME: &'static str = "delete_class";
    const KIND: CommandKind = CommandKind::Admin;
    const IDEMPOTENT: bool = false;
    type Output = DeleteClassOutput;

    fn write_args(&self, args: &mut impl ArgSink) {
        args.push("domain", &self.domain);
        args.push("class", &self.class);
    }

    fn parse_ok(args: &Args) -> Result<Self::Output, DecodeError> {
        Ok(DeleteClassOutput {
            domain: string(args, "domain")?,
            class: string(args, "class")?,
        })
    }

    fn encode_output(out: &Self::Output, args: &mut Args) {
        args.push("domain", &out.domain);
        args.push("class", &out.class);
    }
    /// The class lookup (`class_not_found`) and the domain check (`domain_not_found`).
    fn error_meaning(code: &ErrorCode) -> ErrorMeaning {
        ErrorMeaning::in_class(code)
    }
}
