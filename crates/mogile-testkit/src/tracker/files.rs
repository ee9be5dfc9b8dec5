//! The file commands other than the upload pair: `get_paths`, `delete`, `rename`, `updateclass`,
//! `file_info`, `file_debug`.

use std::time::Duration;

use super::http::{self, Probe};
use super::model::{Model, State};
use super::placement::UrlKind;
use super::spec::DeviceState;
use super::wire::{Pairs, Reply, ReqArgs};

/// One replica as `get_paths` sees it.
#[derive(Debug, Clone)]
struct Candidate {
    url: String,
    /// Host or device down: kept only as the last-resort "backup" path.
    down: bool,
    drain: bool,
}

impl State {
    /// Domain and key checks, then the fid of the key (`unknown_key` if none).
    fn lookup(&self, args: &ReqArgs, missing: &'static str) -> Result<(u64, u64), Reply> {
        let dmid = self.check_domain(args)?;
        let key = args.non_empty("key").ok_or_else(|| Reply::err("no_key"))?;
        let fid = self
            .keys
            .get(&(dmid, key.to_vec()))
            .ok_or_else(|| Reply::err(missing))?;
        Ok((dmid, *fid))
    }

    fn get_paths_candidates(&mut self, fid: u64, kind: UrlKind) -> Vec<Candidate> {
        let Some(file) = self.files.get(&fid) else {
            return Vec::new();
        };
        let weighted: Vec<(u64, f64)> = file
            .devids
            .iter()
            .filter_map(|d| self.devices.get(d).map(|dev| (*d, dev.weight as f64)))
            .collect();
        let order = if self.fixed_path_order {
            let mut ids: Vec<u64> = weighted.iter().map(|(d, _)| *d).collect();
            ids.sort_unstable();
            ids
        } else {
            self.weighted_shuffle(&weighted)
        };
        order
            .into_iter()
            .filter_map(|devid| {
                let dev = self.devices.get(&devid)?;
                let host = self.hosts.get(&dev.hostid)?;
                if dev.state == DeviceState::Dead || host.status == b"dead" {
                    return None;
                }
                Some(Candidate {
                    url: self.url(devid, fid, kind)?,
                    down: dev.state == DeviceState::Down || host.status == b"down",
                    drain: dev.state == DeviceState::Drain,
                })
            })
            .collect()
    }

    fn delete(&mut self, args: &ReqArgs) -> Reply {
        match self.lookup(args, "unknown_key") {
            Ok((_, fid)) => {
                self.delete_file(fid);
                Reply::ok()
            }
            Err(e) => e,
        }
    }

    fn rename(&mut self, args: &ReqArgs) -> Reply {
        let dmid = match self.check_domain(args) {
            Ok(d) => d,
            Err(e) => return e,
        };
        let (Some(from), Some(to)) = (args.non_empty("from_key"), args.non_empty("to_key")) else {
            return Reply::err("no_key");
        };
        let Some(&fid) = self.keys.get(&(dmid, from.to_vec())) else {
            return Reply::err("unknown_key");
        };
        if from == to {
            return Reply::ok();
        }
        if self.keys.contains_key(&(dmid, to.to_vec())) {
            // The real server also emits a stray `OK` here that only its parent process sees
            // (tracker_rename_race.txt); clients get this single line. `Fault` can add the stray line.
            return Reply::err("key_exists");
        }
        self.keys.remove(&(dmid, from.to_vec()));
        self.keys.insert((dmid, to.to_vec()), fid);
        if let Some(f) = self.files.get_mut(&fid) {
            f.key = to.to_vec();
        }
        Reply::ok()
    }

    fn updateclass(&mut self, args: &ReqArgs) -> Reply {
        let dmid = match self.check_domain(args) {
            Ok(d) => d,
            Err(e) => return e,
        };
        let Some(key) = args.non_empty("key") else {
            return Reply::err("no_key");
        };
        let Some(class) = args.truthy("class") else {
            return Reply::err("no_class");
        };
        let Some(classid) = self.classid(dmid, class) else {
            return Reply::err("class_not_found");
        };
        let Some(&fid) = self.keys.get(&(dmid, key.to_vec())) else {
            return Reply::err("invalid_key");
        };
        let Some(file) = self.files.get_mut(&fid) else {
            return Reply::err("invalid_key");
        };
        if file.devids.is_empty() {
            return Reply::err("no_devices");
        }
        file.classid = classid;
        Reply::ok()
    }

    fn file_info(&self, args: &ReqArgs) -> Reply {
        let (dmid, fid) = match self.lookup(args, "unknown_key") {
            Ok(v) => v,
            Err(e) => return e,
        };
        let Some(f) = self.files.get(&fid) else {
            return Reply::err("unknown_key");
        };
        let class = self.class(dmid, f.classid);
        let mut out = Pairs::new()
            .with("fid", fid.to_string())
            .with(
                "domain",
                self.domains
                    .get(&dmid)
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
            )
            .with("class", class.map(|c| c.name.clone()).unwrap_or_default())
            .with("key", &f.key)
            .with("length", f.length.to_string())
            .with("devcount", f.devids.len().to_string());
        if args.truthy("devices").is_some() {
            out.put("devids", join(&f.devids));
        }
        if class.is_some_and(|c| c.hashtype.is_some()) {
            out.put(
                "checksum",
                checksum_info(f.checksum.as_ref()).unwrap_or_else(|| "MISSING".to_owned()),
            );
        }
        out.reply()
    }

    fn file_debug(&self, args: &ReqArgs) -> Reply {
        let fid = match args.truthy("fid") {
            Some(f) => u64::try_from(super::wire::perl_num(f)).unwrap_or(0),
            None => match self.lookup(args, "unknown_key") {
                Ok((_, fid)) => fid,
                Err(e) => return e,
            },
        };
        let mut out = Pairs::new();
        let mut checksum = None;
        if let Some(f) = self.files.get(&fid) {
            let class = self.class(f.dmid, f.classid);
            out.put("fid_fid", fid.to_string())
                .put("fid_dmid", f.dmid.to_string())
                .put("fid_dkey", &f.key)
                .put("fid_length", f.length.to_string())
                .put("fid_classid", f.classid.to_string())
                .put("fid_devcount", f.devids.len().to_string())
                .put(
                    "fid_domain",
                    self.domains
                        .get(&f.dmid)
                        .map(|d| d.name.clone())
                        .unwrap_or_default(),
                )
                .put(
                    "fid_class",
                    class.map(|c| c.name.clone()).unwrap_or_default(),
                );
            if !f.devids.is_empty() {
                out.put("devids", join(&f.devids));
            }
            for &devid in &f.devids {
                let url = self
                    .url(
                        devid,
                        fid,
                        UrlKind {
                            read: true,
                            alt: false,
                        },
                    )
                    .unwrap_or_default();
                out.put(format!("devpath_{devid}"), url);
            }
            checksum = checksum_info(f.checksum.as_ref());
        }
        if let Some(t) = self.temp.get(&fid) {
            out.put("tempfile_dmid", t.dmid.to_string())
                .put("tempfile_dkey", &t.key)
                .put("tempfile_classid", t.classid.to_string())
                .put("tempfile_devids", join(&t.devids));
        }
        out.put("checksum", checksum.unwrap_or_else(|| "NONE".to_owned()));
        out.reply()
    }
}

fn join(devids: &[u64]) -> String {
    devids
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn checksum_info(sum: Option<&(&'static str, Vec<u8>)>) -> Option<String> {
    sum.map(|(name, raw)| format!("{name}:{}", hex::encode(raw)))
}

impl Model {
    /// `get_paths`: verification (unless `noverify`) HEADs replicas in order until one has the file's
    /// length; no verified copy gives `OK paths=0`.
    pub(crate) async fn get_paths(&self, args: &ReqArgs, http_timeout: Duration) -> Reply {
        let (candidates, length, pathcount) = {
            let mut st = self.lock();
            let fid = match st.lookup(args, "unknown_key") {
                Ok((_, fid)) => fid,
                Err(e) => return e,
            };
            let pathcount = args
                .truthy("pathcount")
                .map_or(2, super::wire::perl_num)
                .max(2);
            let kind = UrlKind {
                read: true,
                alt: args.get("zone") == Some(b"alt"),
            };
            let length = st.files.get(&fid).map_or(0, |f| f.length);
            (
                st.get_paths_candidates(fid, kind),
                length,
                usize::try_from(pathcount).unwrap_or(usize::MAX),
            )
        };
        let mut need_verify = args.truthy("noverify").is_none();
        let mut paths: Vec<String> = Vec::new();
        let mut drain: Vec<String> = Vec::new();
        let mut backup = None;
        for c in candidates {
            if paths.len() >= pathcount {
                break;
            }
            if c.down {
                backup = Some(c.url);
                continue;
            }
            if need_verify {
                match http::head_size(&c.url, http_timeout).await {
                    Probe::Size(n) if n == length => need_verify = false,
                    _ => continue,
                }
            }
            if c.drain {
                drain.push(c.url)
            } else {
                paths.push(c.url)
            }
        }
        for url in drain {
            if paths.len() >= pathcount {
                break;
            }
            paths.push(url);
        }
        if paths.is_empty() {
            paths.extend(backup);
        }
        let mut out = Pairs::new().with("paths", paths.len().to_string());
        for (i, p) in paths.iter().enumerate() {
            out.put(format!("path{}", i + 1), p);
        }
        out.reply()
    }

    pub(crate) fn delete(&self, args: &ReqArgs) -> Reply {
        self.lock().delete(args)
    }

    pub(crate) fn rename(&self, args: &ReqArgs) -> Reply {
        self.lock().rename(args)
    }

    pub(crate) fn updateclass(&self, args: &ReqArgs) -> Reply {
        self.lock().updateclass(args)
    }

    pub(crate) fn file_info(&self, args: &ReqArgs) -> Reply {
        self.lock().file_info(args)
    }

    pub(crate) fn file_debug(&self, args: &ReqArgs) -> Reply {
        self.lock().file_debug(args)
    }
}
