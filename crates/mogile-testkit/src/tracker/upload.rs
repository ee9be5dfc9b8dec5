//! `create_open` and `create_close`: the upload half of the file commands.

use std::time::Duration;

use tokio::time::Instant;

use super::http::{self, Probe};
use super::model::{File, Model, State, TempFile};
use super::placement::UrlKind;
use super::spec::DeletedFile;
use super::wire::{Pairs, Reply, ReqArgs};

impl State {
    /// The domain check shared by the file commands: `no_domain` / `unreg_domain`.
    pub(crate) fn check_domain(&self, args: &ReqArgs) -> Result<u64, Reply> {
        let name = args
            .non_empty("domain")
            .ok_or_else(|| Reply::err("no_domain"))?;
        self.dmid(name).ok_or_else(|| Reply::err("unreg_domain"))
    }

    fn create_open(&mut self, args: &ReqArgs) -> Reply {
        let dmid = match self.check_domain(args) {
            Ok(d) => d,
            Err(e) => return e,
        };
        // `$args->{key} || ""`: a key of `0` is recorded as empty (harmless, see protocol.md 2.4)
        let key = args.truthy("key").unwrap_or_default().to_vec();
        let multi = args.truthy("multi_dest").is_some();
        let size = args.truthy("size").map(super::wire::perl_num);
        let explicit_fid = args.truthy("fid").map(super::wire::perl_num);
        let classid = match args.truthy("class") {
            None => 0,
            Some(name) => match self.classid(dmid, name) {
                Some(id) => id,
                None => return Reply::err("unreg_class"),
            },
        };
        let candidates = self.writable_devices(size);
        let mut dests: Vec<u64> = Vec::new();
        for devid in candidates {
            if dests.len() == if multi { 3 } else { 1 } {
                break;
            }
            // Upstream bug copied on purpose: `Device::not_on_hosts` compares the DEVID with the
            // host ids of the devices already chosen, so two destinations may share a host.
            let clash = dests
                .iter()
                .any(|d| self.devices.get(d).is_some_and(|dev| dev.hostid == devid));
            if !clash {
                dests.push(devid);
            }
        }
        if dests.is_empty() {
            return Reply::err("no_devices");
        }
        let fid = match explicit_fid {
            Some(f) => {
                let f = u64::try_from(f).unwrap_or(0);
                if self.files.contains_key(&f) || self.temp.contains_key(&f) {
                    return Reply::err("fid_in_use");
                }
                self.next_fid = self.next_fid.max(f + 1);
                f
            }
            None => self.alloc_fid(),
        };
        self.temp.insert(
            fid,
            TempFile {
                dmid,
                key,
                classid,
                devids: dests.clone(),
                created: Instant::now(),
            },
        );

        let kind = UrlKind {
            read: false,
            alt: args.get("zone") == Some(b"alt"),
        };
        let mut out = Pairs::new().with("fid", fid.to_string());
        if args.truthy("debug_profile").is_some() {
            let mut points = vec![
                "begin".to_owned(),
                "wait_monitor".to_owned(),
                "find_deviceid".to_owned(),
            ];
            points.push("vivify_dir_on_all_devs".to_owned());
            points.extend(dests.iter().map(|d| format!("vivify_dir_on_dev{d}")));
            out.put("profpoints", points.len().to_string());
            for (i, p) in points.iter().enumerate() {
                out.put(format!("prof_{}_name", i + 1), p)
                    .put(format!("prof_{}_time", i + 1), "0.000");
            }
        }
        if multi {
            for (i, &devid) in dests.iter().enumerate() {
                out.put(format!("devid_{}", i + 1), devid.to_string());
                out.put(
                    format!("path_{}", i + 1),
                    self.url(devid, fid, kind).unwrap_or_default(),
                );
            }
            out.put("dev_count", dests.len().to_string());
        } else {
            out.put("devid", dests[0].to_string());
            out.put("path", self.url(dests[0], fid, kind).unwrap_or_default());
        }
        out.reply()
    }
}

/// A parsed `checksum=` argument.
struct Checksum {
    name: &'static str,
    raw: Vec<u8>,
}

/// `MogileFS::Checksum->from_string`: `NAME:hex` with a known name and the exact digest length.
fn parse_checksum(s: &[u8]) -> Option<Checksum> {
    let colon = s.iter().position(|&b| b == b':')?;
    let (name, hexdigits) = (&s[..colon], &s[colon + 1..]);
    let (name, len) = match name {
        b"MD5" => ("MD5", 16),
        b"SHA-1" => ("SHA-1", 20),
        _ => return None,
    };
    let raw = hex::decode(hexdigits).ok()?;
    (raw.len() == len).then_some(Checksum { name, raw })
}

/// What phase 1 of `create_close` hands to the HTTP checks and the commit.
struct Closing {
    dmid: u64,
    key: Vec<u8>,
    fid: u64,
    devid: u64,
    classid: u64,
    path: String,
    size_arg: String,
    checksum: Option<Checksum>,
}

impl Model {
    pub(crate) fn create_open(&self, args: &ReqArgs) -> Reply {
        self.lock().create_open(args)
    }

    /// `create_close`, in the server's check order (protocol.md 5.2). The model lock is released while
    /// the storage node is asked.
    pub(crate) async fn create_close(&self, args: &ReqArgs, http_timeout: Duration) -> Reply {
        self.close_until(args, http_timeout, false).await
    }

    /// `create_close` run by a tracker that dies between deleting the key's old fid and writing
    /// the new file row ([`FaultAction::DieMidClose`](super::FaultAction::DieMidClose)). The reply
    /// is never sent.
    pub(crate) async fn create_close_dying(&self, args: &ReqArgs, http_timeout: Duration) {
        let _ = self.close_until(args, http_timeout, true).await;
    }

    async fn close_until(&self, args: &ReqArgs, http_timeout: Duration, die: bool) -> Reply {
        let closing = match self.close_begin(args) {
            Ok(Some(c)) => c,
            Ok(None) => return Reply::ok(),
            Err(e) => return e,
        };
        let fail = |reply: Reply| {
            self.lock().deleted.push(DeletedFile {
                fid: closing.fid,
                devids: vec![closing.devid],
            });
            reply
        };
        let size = match http::head_size(&closing.path, http_timeout).await {
            Probe::Size(n) => n,
            Probe::Missing => return fail(size_verify_error(&closing, "missing", "")),
            Probe::Unreachable(err) => return fail(size_verify_error(&closing, "cantreach", &err)),
        };
        let expected = super::wire::perl_num(closing.size_arg.as_bytes());
        if expected > -1 && u64::try_from(expected).ok() != Some(size) {
            let text = format!(
                "Expected: {}; actual: {size}; path: {}",
                closing.size_arg, closing.path
            );
            return fail(Reply::err_text("size_mismatch", text));
        }
        if let (Some(sum), Some(_)) = (&closing.checksum, args.truthy("checksumverify")) {
            if sum.name != "MD5" {
                // No SHA-1 implementation in the test kit: report it the way a tracker exception shows.
                return fail(Reply::err("failure"));
            }
            match http::md5_of(&closing.path, http_timeout).await {
                Ok(actual) if actual[..] == sum.raw[..] => {}
                Ok(actual) => {
                    let text = format!(
                        "Expected: Checksum[f={};{}={}]; actual: {}:{}; path: {}",
                        closing.fid,
                        sum.name,
                        hex::encode(&sum.raw),
                        sum.name,
                        hex::encode(actual),
                        closing.path
                    );
                    return fail(Reply::err_text("checksum_mismatch", text));
                }
                Err(_) => return fail(Reply::err("failure")),
            }
        }
        if die {
            self.close_die(&closing);
            return Reply::err("failure");
        }
        self.close_commit(closing, size);
        Reply::ok()
    }

    /// The first half of phase 3 only: the key's old fid is deleted, and the new row is never
    /// written (the new fid's bytes stay on the device, orphaned, as on a real tracker).
    fn close_die(&self, c: &Closing) {
        let mut st = self.lock();
        if let Some(&old) = st.keys.get(&(c.dmid, c.key.clone())) {
            st.delete_file(old);
        }
    }

    /// Phase 1: argument checks and consuming the temp-file row. `Ok(None)` is the "no key: abandon"
    /// success.
    fn close_begin(&self, args: &ReqArgs) -> Result<Option<Closing>, Reply> {
        let mut st = self.lock();
        let dmid = st.check_domain(args)?;
        let fid_arg = args.truthy("fid").ok_or_else(|| Reply::err("no_fid"))?;
        let devid_arg = args.truthy("devid").ok_or_else(|| Reply::err("no_devid"))?;
        let path = args.truthy("path").ok_or_else(|| Reply::err("no_path"))?;
        let checksum = match args.truthy("checksum") {
            Some(s) => {
                Some(parse_checksum(s).ok_or_else(|| Reply::err("invalid_checksum_format"))?)
            }
            None => None,
        };
        let fid = u64::try_from(super::wire::perl_num(fid_arg)).unwrap_or(0);
        let devid = u64::try_from(super::wire::perl_num(devid_arg)).unwrap_or(0);
        // `$dfid->url` dies on an unknown device: a Perl exception is `failure`.
        let plain = st
            .url(
                devid,
                fid,
                UrlKind {
                    read: false,
                    alt: false,
                },
            )
            .ok_or_else(|| Reply::err("failure"))?;
        let alt = st
            .url(
                devid,
                fid,
                UrlKind {
                    read: false,
                    alt: true,
                },
            )
            .unwrap_or_default();
        let zone_alt = args.get("zone") == Some(b"alt");
        if path != plain.as_bytes() && !(zone_alt && path == alt.as_bytes()) {
            return Err(Reply::err("bogus_args"));
        }
        let ttl = st.temp_file_ttl;
        let trow = st
            .temp
            .remove(&fid)
            .ok_or_else(|| Reply::err("no_temp_file"))?;
        if trow.created.elapsed() > ttl {
            // the reaper got there first
            st.deleted.push(DeletedFile {
                fid,
                devids: trow.devids,
            });
            return Err(Reply::err("no_temp_file"));
        }
        st.deleted.push(DeletedFile {
            fid,
            devids: vec![devid],
        });
        let pending_delete = st.deleted.len() - 1;
        if !trow.devids.contains(&devid) {
            let valid: Vec<String> = trow.devids.iter().map(u64::to_string).collect();
            let text = format!(
                "File uploaded to invalid dest {devid}. Valid devices were: {}",
                valid.join(",")
            );
            return Err(Reply::err_text("invalid_destdev", text));
        }
        let Some(key) = args.non_empty("key") else {
            return Ok(None);
        };
        // Not failed after all (so far): the later checks queue the deletion again if they fail.
        st.deleted.remove(pending_delete);
        Ok(Some(Closing {
            dmid,
            key: key.to_vec(),
            fid,
            devid,
            classid: trow.classid,
            path: String::from_utf8_lossy(path).into_owned(),
            size_arg: args.truthy("size").map_or_else(
                || "-1".to_owned(),
                |s| String::from_utf8_lossy(s).into_owned(),
            ),
            checksum,
        }))
    }

    /// Commits a file directly, as if uploaded and closed, without asking a storage node: for tests
    /// that only need the namespace (e.g. `get_paths` with `noverify=1`). Replaces an existing key
    /// like `create_close` does and returns the new fid.
    pub fn insert_file(
        &self,
        domain: &str,
        key: impl AsRef<[u8]>,
        class: Option<&str>,
        length: u64,
        devids: &[u64],
    ) -> Result<u64, super::spec::ModelError> {
        let mut st = self.lock();
        let dmid = st
            .dmid(domain.as_bytes())
            .ok_or_else(|| Reply::err("unreg_domain"))?;
        let classid = match class {
            None => 0,
            Some(c) => st
                .classid(dmid, c.as_bytes())
                .ok_or_else(|| Reply::err("unreg_class"))?,
        };
        if let Some(d) = devids.iter().find(|d| !st.devices.contains_key(d)) {
            return Err(Reply::err_text("no_device", format!("unknown device {d}")).into());
        }
        let fid = st.alloc_fid();
        let key = key.as_ref().to_vec();
        if let Some(&old) = st.keys.get(&(dmid, key.clone())) {
            st.delete_file(old);
        }
        let mut devids = devids.to_vec();
        devids.sort_unstable();
        devids.dedup();
        st.keys.insert((dmid, key.clone()), fid);
        st.files.insert(
            fid,
            File {
                dmid,
                key,
                classid,
                length,
                devids,
                checksum: None,
            },
        );
        Ok(fid)
    }

    /// Phase 3: last writer wins, the checksum is kept when the class hashes the same way.
    fn close_commit(&self, c: Closing, size: u64) {
        let mut st = self.lock();
        if let Some(&old) = st.keys.get(&(c.dmid, c.key.clone())) {
            st.delete_file(old);
        }
        let hashtype = st.class(c.dmid, c.classid).and_then(|cl| cl.hashtype);
        let checksum = c
            .checksum
            .filter(|s| Some(s.name) == hashtype)
            .map(|s| (s.name, s.raw));
        st.keys.insert((c.dmid, c.key.clone()), c.fid);
        st.files.insert(
            c.fid,
            File {
                dmid: c.dmid,
                key: c.key,
                classid: c.classid,
                length: size,
                devids: vec![c.devid],
                checksum,
            },
        );
    }
}

fn size_verify_error(c: &Closing, kind: &str, err: &str) -> Reply {
    let text = format!(
        "Expected: {}; actual: 0 ({kind}); path: {}; error: {err}",
        c.size_arg, c.path
    );
    Reply::err_text("size_verify_error", text)
}
