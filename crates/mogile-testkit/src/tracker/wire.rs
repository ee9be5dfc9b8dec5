//! The seam between the fake tracker and the line codec: request arguments as the server reads them,
//! and replies as the server writes them.
//!
//! Kept in one place so the handlers never touch the codec directly.

/// Request arguments after the server-side decoding quirks (protocol.md 2.4).
#[derive(Debug, Default)]
pub(crate) struct ReqArgs(Vec<(Vec<u8>, Vec<u8>)>);

impl ReqArgs {
    /// Decodes an argument string the way the 2.73 tracker does.
    pub(crate) fn decode(src: &[u8]) -> Self {
        Self(codec::decode_server(src))
    }

    /// The value of `name`, if present (possibly empty).
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// The value of `name` when it is "true" in Perl: present, non-empty and not `0`.
    pub(crate) fn truthy(&self, name: &str) -> Option<&[u8]> {
        self.get(name).filter(|v| is_truthy(v))
    }

    /// The value of `name` when it is defined and non-empty (the `valid_key` / `length` test).
    pub(crate) fn non_empty(&self, name: &str) -> Option<&[u8]> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// The value of `name` read as a Perl number (`undef` and garbage are 0).
    pub(crate) fn num(&self, name: &str) -> i64 {
        self.get(name).map_or(0, perl_num)
    }
}

/// Perl truthiness of a string value.
pub(crate) fn is_truthy(v: &[u8]) -> bool {
    !v.is_empty() && v != b"0"
}

/// Perl's numeric reading of a string: optional leading whitespace and sign, then the leading digits
/// (fractions are truncated; anything else reads as 0).
pub(crate) fn perl_num(v: &[u8]) -> i64 {
    let s = v.trim_ascii_start();
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -n } else { n }
}

/// One reply, before encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `OK <pairs>`.
    Ok(Vec<(Vec<u8>, Vec<u8>)>),
    /// `ERR <code> <text>`.
    Err {
        /// The error code.
        code: &'static str,
        /// The (unescaped) text.
        text: String,
    },
}

impl Reply {
    /// An empty `OK`.
    pub(crate) fn ok() -> Self {
        Self::Ok(Vec::new())
    }

    /// An `ERR` with the server's canned text for `code`.
    pub(crate) fn err(code: &'static str) -> Self {
        Self::Err {
            code,
            text: canned_text(code).to_owned(),
        }
    }

    /// An `ERR` with a specific text.
    pub(crate) fn err_text(code: &'static str, text: impl Into<String>) -> Self {
        Self::Err {
            code,
            text: text.into(),
        }
    }

    /// Encodes the reply line (with `\r\n`), echoing `callid` the way the server does.
    pub(crate) fn encode(&self, callid: Option<&[u8]>, dst: &mut Vec<u8>) {
        codec::encode_reply(self, callid, dst);
    }
}

/// Builds `OK` pairs.
#[derive(Debug, Default)]
pub(crate) struct Pairs(Vec<(Vec<u8>, Vec<u8>)>);

impl Pairs {
    pub(crate) fn new() -> Self {
        Self::default()
    }
    pub(crate) fn put(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        self.0
            .push((name.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }
    pub(crate) fn with(mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.put(name, value);
        self
    }
    pub(crate) fn reply(self) -> Reply {
        Reply::Ok(self.0)
    }
}

/// The text the 2.73 server sends for a code when the handler gives none (protocol.md section 7 and the
/// captures); codes without canned text repeat the code.
pub(crate) fn canned_text(code: &'static str) -> &'static str {
    match code {
        "unknown_command" => "Unknown server command",
        "no_domain" => "No domain provided",
        "unreg_domain" => "Domain name invalid/not found",
        "domain_not_found" => "Domain not found",
        "domain_exists" => "That domain already exists",
        "domain_has_files" => "Domain still has files, unable to delete",
        "key_exists" => "Target key name already exists; can't overwrite.",
        "none_match" => "No keys match that pattern and after-value (if any).",
        "after_mismatch" => "Pattern does not match the after-value?",
        "no_class" => "No class provided",
        "class_not_found" => "Class not found",
        "class_exists" => "That class already exists in that domain",
        "class_has_files" => "Class still has files, unable to delete",
        "nodel_default_class" => "Cannot delete the default class",
        "invalid_mindevcount" => "The mindevcount must be at least 1",
        "no_devices" => "No devices found to store file",
        "no_temp_file" => "No tempfile or file already closed",
        "failure" => "Operation failed",
        "dup" => "Duplicate name/number used.",
        "db" => "Database error",
        "plugin_aborted" => "Action aborted by plugin",
        "no_host" => "No host provided",
        "no_ip" => "IP required to create host",
        "no_port" => "Port required to create host",
        "host_exists" => "That host already exists",
        "host_not_found" | "unknown_host" => "Host not found",
        "host_not_empty" => "Unable to delete host; it contains devices still",
        "unknown_state" => "Invalid/unknown state",
        "bad_params" => "Invalid parameters to command; please see documentation",
        "no_device" => "Device not found",
        "host_mismatch" => "The device specified doesn't belong to the host specified",
        "state_too_high" => "Status cannot go from dead to alive; must use down",
        "no_rebal_state" => "No available rebalance status",
        "no_rebal_policy" => "No rebalance policy available",
        "rebal_not_started" => "Rebalance not running",
        "rebal_running" => "Rebalance is already running",
        "fsck_running" => "Fsck is already running",
        other => other,
    }
}

/// The codec calls (local until `mogile-protocol`'s server side is merged).
mod codec {
    use super::Reply;

    pub(super) fn decode_server(src: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for piece in src.split(|&b| b == b'&') {
            if !super::is_truthy(piece) {
                continue;
            }
            let mut fields = piece.split(|&b| b == b'=');
            let name = unescape(fields.next().unwrap_or_default());
            let value = unescape(fields.next().unwrap_or_default());
            if let Some((_, v)) = out.iter_mut().find(|(n, _)| *n == name) {
                v.push(0);
                v.extend_from_slice(&value);
            } else {
                out.push((name, value));
            }
        }
        out
    }

    fn unescape(src: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(src.len());
        let mut i = 0;
        while i < src.len() {
            match src[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < src.len()
                    && hex(src[i + 1]).is_some()
                    && hex(src[i + 2]).is_some() =>
                {
                    out.push(hex(src[i + 1]).unwrap_or(0) << 4 | hex(src[i + 2]).unwrap_or(0));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        out
    }

    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }

    fn escape(src: &[u8], dst: &mut Vec<u8>) {
        for &b in src {
            match b {
                b' ' => dst.push(b'+'),
                b'A'..=b'Z'
                | b'a'..=b'z'
                | b'0'..=b'9'
                | b'_'
                | b','
                | b'-'
                | b'.'
                | b'/'
                | b'\\'
                | b':' => dst.push(b),
                _ => dst.extend_from_slice(format!("%{b:02X}").as_bytes()),
            }
        }
    }

    pub(super) fn encode_reply(reply: &Reply, callid: Option<&[u8]>, dst: &mut Vec<u8>) {
        match reply {
            Reply::Ok(pairs) => {
                dst.extend_from_slice(b"OK ");
                let callid = callid.map(|c| (b"callid".to_vec(), c.to_vec()));
                for (i, (n, v)) in pairs.iter().chain(callid.iter()).enumerate() {
                    if i > 0 {
                        dst.push(b'&');
                    }
                    escape(n, dst);
                    dst.push(b'=');
                    escape(v, dst);
                }
            }
            Reply::Err { code, text } => {
                dst.extend_from_slice(b"ERR ");
                dst.extend_from_slice(code.as_bytes());
                dst.push(b' ');
                escape(text.as_bytes(), dst);
                if let Some(c) = callid {
                    dst.push(b' ');
                    escape(c, dst);
                }
            }
        }
        dst.extend_from_slice(b"\r\n");
    }
}
