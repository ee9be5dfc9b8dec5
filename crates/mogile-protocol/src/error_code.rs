//! The tracker's error codes (`protocol.md` section 7 and the captures).

use std::fmt;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $text:expr; )*) => {
        /// An error code from an `ERR` line.
        ///
        /// Every code of MogileFS 2.73 has a variant; any other code is kept in
        /// [`ErrorCode::Other`], so an unknown code is never a decode failure.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code this crate does not know.
            Other(String),
        }

        impl ErrorCode {
            /// Every known code, in catalogue order.
            pub const KNOWN: &'static [ErrorCode] = &[$(Self::$variant),*];

            /// The code as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $code, )*
                    Self::Other(code) => code,
                }
            }

            /// The text the 2.73 tracker sends with this code when the handler gives none (the
            /// code itself when the tracker has no canned text); for server-side encoders.
            pub fn default_text(&self) -> &str {
                match self {
                    $( Self::$variant => $text.unwrap_or($code), )*
                    Self::Other(code) => code,
                }
            }
        }

        impl From<&str> for ErrorCode {
            fn from(code: &str) -> Self {
                match code {
                    $( $code => Self::$variant, )*
                    other => Self::Other(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    /// The command does not exist on this tracker (e.g. `file_info` before 2.45).
    UnknownCommand = "unknown_command", Some("Unknown server command");
    /// No `domain` argument.
    NoDomain = "no_domain", Some("No domain provided");
    /// Unknown domain (file commands).
    UnregDomain = "unreg_domain", Some("Domain name invalid/not found");
    /// Unknown domain (admin commands).
    DomainNotFound = "domain_not_found", Some("Domain not found");
    /// `create_domain` of an existing domain.
    DomainExists = "domain_exists", Some("That domain already exists");
    /// `delete_domain` of a domain with files.
    DomainHasFiles = "domain_has_files", Some("Domain still has files, unable to delete");
    /// `delete_domain` of a domain with non-default classes.
    DomainHasClasses = "domain_has_classes", None::<&str>;
    /// Defined by the tracker, unused.
    DomainNotEmpty = "domain_not_empty", Some("Domain still has classes, unable to delete");
    /// Missing or empty key.
    NoKey = "no_key", None::<&str>;
    /// The key does not exist.
    UnknownKey = "unknown_key", None::<&str>;
    /// The key does not exist (`updateclass`'s name for it).
    InvalidKey = "invalid_key", None::<&str>;
    /// `rename` onto an existing key.
    KeyExists = "key_exists", Some("Target key name already exists; can't overwrite.");
    /// `list_keys` found nothing: an empty page.
    NoneMatch = "none_match", Some("No keys match that pattern and after-value (if any).");
    /// `list_keys` `after` does not start with `prefix`.
    AfterMismatch = "after_mismatch", Some("Pattern does not match the after-value?");
    /// Unknown class (`create_open`).
    UnregClass = "unreg_class", None::<&str>;
    /// No `class` argument.
    NoClass = "no_class", Some("No class provided");
    /// Unknown class.
    ClassNotFound = "class_not_found", Some("Class not found");
    /// `create_class` of an existing class.
    ClassExists = "class_exists", Some("That class already exists in that domain");
    /// `delete_class` of a class with files.
    ClassHasFiles = "class_has_files", Some("Class still has files, unable to delete");
    /// `delete_class` of the default class.
    NodelDefaultClass = "nodel_default_class", Some("Cannot delete the default class");
    /// `mindevcount` missing or below 1.
    InvalidMindevcount = "invalid_mindevcount", Some("The mindevcount must be at least 1");
    /// The replication policy does not parse.
    InvalidReplpolicy = "invalid_replpolicy", None::<&str>;
    /// Unknown hash type.
    InvalidHashtype = "invalid_hashtype", None::<&str>;
    /// No device can take the file.
    NoDevices = "no_devices", Some("No devices found to store file");
    /// The explicit fid exists.
    FidInUse = "fid_in_use", None::<&str>;
    /// No `fid` argument.
    NoFid = "no_fid", None::<&str>;
    /// No `devid` argument.
    NoDevid = "no_devid", None::<&str>;
    /// No `path` argument.
    NoPath = "no_path", None::<&str>;
    /// `create_close` path does not match devid and fid.
    BogusArgs = "bogus_args", None::<&str>;
    /// No open upload for this fid (closed, reaped or re-run).
    NoTempFile = "no_temp_file", Some("No tempfile or file already closed");
    /// `create_close` devid was not a destination.
    InvalidDestdev = "invalid_destdev", None::<&str>;
    /// The tracker could not HEAD the uploaded file.
    SizeVerifyError = "size_verify_error", None::<&str>;
    /// The uploaded file has the wrong size.
    SizeMismatch = "size_mismatch", None::<&str>;
    /// `checksum` does not parse.
    InvalidChecksumFormat = "invalid_checksum_format", None::<&str>;
    /// The uploaded file has the wrong checksum.
    ChecksumMismatch = "checksum_mismatch", None::<&str>;
    /// The fid already exists (should not happen).
    FidExists = "fid_exists", None::<&str>;
    /// A server plugin refused the action.
    PluginAborted = "plugin_aborted", Some("Action aborted by plugin");
    /// Database error.
    Db = "db", Some("Database error");
    /// Server-side exception.
    Failure = "failure", Some("Operation failed");
    /// Uniqueness violation.
    Dup = "dup", Some("Duplicate name/number used.");
    /// No `host` argument.
    NoHost = "no_host", Some("No host provided");
    /// No `ip` argument.
    NoIp = "no_ip", Some("IP required to create host");
    /// No `port` argument.
    NoPort = "no_port", Some("Port required to create host");
    /// `create_host` of an existing host.
    HostExists = "host_exists", Some("That host already exists");
    /// Unknown host (`update_host`).
    HostNotFound = "host_not_found", Some("Host not found");
    /// Unknown host (`delete_host`, `create_device`).
    UnknownHost = "unknown_host", Some("Host not found");
    /// Unknown host id.
    UnknownHostid = "unknown_hostid", None::<&str>;
    /// The host still has devices.
    HostNotEmpty = "host_not_empty", Some("Unable to delete host; it contains devices still");
    /// Unknown host state.
    UnknownState = "unknown_state", Some("Invalid/unknown state");
    /// Unknown device state.
    InvalidState = "invalid_state", None::<&str>;
    /// The devid is not a number.
    InvalidDevid = "invalid_devid", None::<&str>;
    /// The devid exists.
    ExistingDevid = "existing_devid", None::<&str>;
    /// Bad arguments (`create_device`).
    BadArgs = "bad_args", None::<&str>;
    /// Bad arguments.
    BadParams = "bad_params", Some("Invalid parameters to command; please see documentation");
    /// Unknown device.
    NoDevice = "no_device", Some("Device not found");
    /// The device is not on that host.
    HostMismatch = "host_mismatch", Some("The device specified doesn't belong to the host specified");
    /// A dead device cannot come back alive.
    StateTooHigh = "state_too_high", Some("Status cannot go from dead to alive; must use down");
    /// The setting cannot be written.
    NotWritable = "not_writable", None::<&str>;
    /// The setting's value is invalid.
    InvalidFormat = "invalid_format", None::<&str>;
    /// Fsck is running.
    FsckRunning = "fsck_running", Some("Fsck is already running");
    /// Rebalance is running.
    RebalRunning = "rebal_running", Some("Rebalance is already running");
    /// Rebalance is not running.
    RebalNotStarted = "rebal_not_started", Some("Rebalance not running");
    /// No rebalance status.
    NoRebalState = "no_rebal_state", Some("No available rebalance status");
    /// No rebalance policy.
    NoRebalPolicy = "no_rebal_policy", Some("No rebalance policy available");
    /// The rebalance policy cannot be set.
    NoSetRebal = "no_set_rebal", None::<&str>;
    /// The rebalance policy is invalid.
    BadRebalPol = "bad_rebal_pol", None::<&str>;
    /// `httpcopy` failed.
    CopyErr = "copy_err", None::<&str>;
    /// Unknown fid (unreachable in 2.73).
    UnknownFid = "unknown_fid", None::<&str>;
}

impl fmt::Display for ErrorCode {
    /// The code as on the wire, with control characters escaped (an unknown code is the
    /// tracker's text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::printable(self.as_str()).fmt(f)
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        match Self::from(code.as_str()) {
            Self::Other(_) => Self::Other(code),
            known => known,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_roundtrips() {
        for code in ErrorCode::KNOWN {
            assert_eq!(&ErrorCode::from(code.as_str()), code);
            assert!(!code.default_text().is_empty());
        }
        assert_eq!(ErrorCode::from("zzz"), ErrorCode::Other("zzz".into()));
        assert_eq!(ErrorCode::NoKey.default_text(), "no_key");
        assert_eq!(
            ErrorCode::UnregDomain.default_text(),
            "Domain name invalid/not found"
        );
    }
}
