//! [`ErrorMeaning`]: what an `ERR` code means for the command that received it.
//!
//! A code's meaning depends on the command: `unknown_key` from `rename` says the *source* key is
//! missing, `key_exists` that the *target* is taken; `no_devices` from `create_open` says no
//! device can take a new file right now, from `updateclass` that the file has no replica at all.
//! So there is no global table: each command says what its own codes mean in its
//! [`Command::error_meaning`](super::Command::error_meaning), next to its arguments, built from
//! the small helpers here for the checks many commands share (the domain check of every file
//! command, the class lookup).

use crate::error_code::ErrorCode;

/// What an `ERR` answer means for the command that received it; see
/// [`Command::error_meaning`](super::Command::error_meaning).
///
/// Every meaning other than [`Other`](Self::Other) is a refusal that changed nothing. What a
/// `create_close` error means for the upload's commit is finer, and has its own table:
/// [`CreateClose::close_error`](super::CreateClose::close_error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorMeaning {
    /// The key the command names does not exist (for `rename`, the source key).
    UnknownKey,
    /// The domain the command names is not registered.
    UnknownDomain,
    /// The class the command names does not exist in its domain.
    UnknownClass,
    /// The name the command would create or move to is taken: `rename`'s target key, or the
    /// domain, class, host, device or fid being created.
    AlreadyExists,
    /// No device can take a new file right now (`no_devices` from `create_open`): nothing was
    /// created, and the same request may succeed once devices are writable again.
    NoWritableDevices,
    /// `create_close` refused the upload: a path that does not match the fid and device
    /// (`bogus_args`), or an upload it checked and discarded (`size_mismatch`, ...).
    UploadRejected,
    /// The tracker does not know the command (`unknown_command`; e.g. `file_info` before 2.45).
    Unsupported,
    /// Nothing more specific than the code itself: argument errors (client bugs), refusals
    /// (`domain_has_files`, ...), server faults (`db`, `failure`, `dup`), and any code the
    /// command does not send.
    Other,
}

impl ErrorMeaning {
    /// What a code means for any command: only `unknown_command` has a meaning of its own. The
    /// default of [`Command::error_meaning`](super::Command::error_meaning).
    pub fn any_command(code: &ErrorCode) -> Self {
        match code {
            ErrorCode::UnknownCommand => Self::Unsupported,
            _ => Self::Other,
        }
    }

    /// For a command that names a domain: the domain check's codes (`unreg_domain` from file
    /// commands, `domain_not_found` from admin commands), and [`any_command`](Self::any_command).
    pub(crate) fn in_domain(code: &ErrorCode) -> Self {
        match code {
            ErrorCode::UnregDomain | ErrorCode::DomainNotFound => Self::UnknownDomain,
            other => Self::any_command(other),
        }
    }

    /// For a command that names a class in a domain: the class lookup's codes (`unreg_class`
    /// from `create_open`, `class_not_found` elsewhere), and [`in_domain`](Self::in_domain).
    pub(crate) fn in_class(code: &ErrorCode) -> Self {
        match code {
            ErrorCode::UnregClass | ErrorCode::ClassNotFound => Self::UnknownClass,
            other => Self::in_domain(other),
        }
    }

    /// For a command on one key of a domain (`unknown_key` when it is missing), and
    /// [`in_domain`](Self::in_domain).
    pub(crate) fn on_key(code: &ErrorCode) -> Self {
        match code {
            ErrorCode::UnknownKey => Self::UnknownKey,
            other => Self::in_domain(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::*;

    /// The codes with a meaning of their own, per command; every other code, and an unknown one,
    /// must be [`ErrorMeaning::Other`].
    fn meanings<C: Command>(expected: &[(&ErrorCode, ErrorMeaning)]) {
        let mut all: Vec<ErrorCode> = ErrorCode::KNOWN.to_vec();
        all.push(ErrorCode::from("brand_new"));
        for code in &all {
            let want = expected
                .iter()
                .find(|(c, _)| *c == code)
                .map_or(ErrorMeaning::Other, |(_, m)| *m);
            assert_eq!(C::error_meaning(code), want, "{} {code}", C::NAME);
        }
    }

    use ErrorCode as E;
    use ErrorMeaning as M;

    const ANY: &[(&ErrorCode, ErrorMeaning)] = &[(&E::UnknownCommand, M::Unsupported)];
    const DOMAIN: &[(&ErrorCode, ErrorMeaning)] = &[
        (&E::UnknownCommand, M::Unsupported),
        (&E::UnregDomain, M::UnknownDomain),
        (&E::DomainNotFound, M::UnknownDomain),
    ];

    fn with(
        base: &[(&'static ErrorCode, ErrorMeaning)],
        more: &[(&'static ErrorCode, ErrorMeaning)],
    ) -> Vec<(&'static ErrorCode, ErrorMeaning)> {
        base.iter().chain(more).copied().collect()
    }

    /// Every code, walked for every command: the meaning each command gives it.
    #[test]
    fn every_code_has_its_meaning_per_command() {
        let on_key = with(DOMAIN, &[(&E::UnknownKey, M::UnknownKey)]);
        let class = with(
            DOMAIN,
            &[
                (&E::UnregClass, M::UnknownClass),
                (&E::ClassNotFound, M::UnknownClass),
            ],
        );
        meanings::<GetPaths>(&on_key);
        meanings::<FileInfo>(&on_key);
        meanings::<FileDebug>(&on_key);
        meanings::<Delete>(&on_key);
        meanings::<Rename>(&with(&on_key, &[(&E::KeyExists, M::AlreadyExists)]));
        // `no_devices` from `updateclass`: the file has no replica, not a full cluster.
        meanings::<UpdateFileClass>(&with(&class, &[(&E::InvalidKey, M::UnknownKey)]));
        meanings::<CreateOpen>(&with(
            &class,
            &[
                (&E::NoDevices, M::NoWritableDevices),
                (&E::FidInUse, M::AlreadyExists),
            ],
        ));
        meanings::<CreateClose>(&with(
            DOMAIN,
            &[
                (&E::BogusArgs, M::UploadRejected),
                (&E::InvalidDestdev, M::UploadRejected),
                (&E::SizeVerifyError, M::UploadRejected),
                (&E::SizeMismatch, M::UploadRejected),
                (&E::ChecksumMismatch, M::UploadRejected),
            ],
        ));
        meanings::<ListKeys>(DOMAIN);
        meanings::<ListFids>(ANY);
        meanings::<CreateDomain>(&with(ANY, &[(&E::DomainExists, M::AlreadyExists)]));
        meanings::<DeleteDomain>(DOMAIN);
        meanings::<CreateClass>(&with(&class, &[(&E::ClassExists, M::AlreadyExists)]));
        meanings::<UpdateClass>(&class);
        meanings::<DeleteClass>(&class);
        meanings::<CreateHost>(&with(ANY, &[(&E::HostExists, M::AlreadyExists)]));
        meanings::<UpdateHost>(ANY);
        meanings::<DeleteHost>(ANY);
        meanings::<CreateDevice>(&with(ANY, &[(&E::ExistingDevid, M::AlreadyExists)]));
        meanings::<GetDomains>(ANY);
        meanings::<GetHosts>(ANY);
        meanings::<GetDevices>(ANY);
        meanings::<SetState>(ANY);
        meanings::<SetWeight>(ANY);
        meanings::<ServerSettings>(ANY);
        meanings::<ServerSetting>(ANY);
        meanings::<SetServerSetting>(ANY);
        meanings::<Noop>(ANY);
    }
}
