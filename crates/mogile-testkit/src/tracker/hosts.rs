//! Admin commands on hosts and devices.

use super::model::{Device, Host, State};
use super::spec::{DeviceSpec, DeviceState, HostSpec, valid_host_status};
use super::wire::{Pairs, Reply, ReqArgs, perl_num};

impl State {
    pub(crate) fn add_host(&mut self, spec: HostSpec) -> Result<u64, Reply> {
        if self.hostid_by_name(spec.name.as_bytes()).is_some() {
            return Err(Reply::err("host_exists"));
        }
        if !valid_host_status(spec.status.as_bytes()) {
            return Err(Reply::err("unknown_state"));
        }
        if !spec.allow_shared_ip && self.hosts.values().any(|h| h.ip == spec.ip.as_bytes()) {
            return Err(Reply::err("dup"));
        }
        let hostid = self.next_hostid;
        self.next_hostid += 1;
        let port = |p: Option<u16>| p.map(|p| p.to_string().into_bytes()).unwrap_or_default();
        self.hosts.insert(
            hostid,
            Host {
                name: spec.name.into_bytes(),
                ip: spec.ip.into_bytes(),
                http_port: port(Some(spec.http_port)),
                http_get_port: port(spec.http_get_port),
                altip: spec.altip.map(String::into_bytes).unwrap_or_default(),
                altmask: spec.altmask.map(String::into_bytes).unwrap_or_default(),
                status: spec.status.into_bytes(),
            },
        );
        Ok(hostid)
    }

    pub(crate) fn add_device(&mut self, spec: DeviceSpec) -> Result<(), Reply> {
        if !self.hosts.contains_key(&spec.hostid) {
            return Err(Reply::err("unknown_hostid"));
        }
        if self.devices.contains_key(&spec.devid) {
            return Err(Reply::err("existing_devid"));
        }
        self.devices.insert(
            spec.devid,
            Device {
                hostid: spec.hostid,
                state: spec.state,
                weight: spec.weight,
                mb_total: spec.mb_total,
                mb_used: spec.mb_used,
            },
        );
        Ok(())
    }

    pub(super) fn create_or_update_host(&mut self, args: &ReqArgs, update: bool) -> Reply {
        let Some(name) = args.truthy("host") else {
            return Reply::err("no_host");
        };
        let existing = self.hostid_by_name(name);
        let mut status = args.truthy("status").map(<[u8]>::to_vec);
        if update {
            if existing.is_none() {
                return Reply::err("host_not_found");
            }
        } else {
            if existing.is_some() {
                return Reply::err("host_exists");
            }
            if args.truthy("ip").is_none() {
                return Reply::err("no_ip");
            }
            if args.truthy("port").is_none() {
                return Reply::err("no_port");
            }
            status.get_or_insert_with(|| b"down".to_vec());
        }
        if status.as_ref().is_some_and(|s| !valid_host_status(s)) {
            return Reply::err("unknown_state");
        }
        if let Some(ip) = args.truthy("ip") {
            if self
                .hosts
                .iter()
                .any(|(id, h)| h.ip == ip && Some(*id) != existing)
            {
                return Reply::err("dup");
            }
        }
        let hostid = match existing {
            Some(id) => id,
            None => {
                let spec = HostSpec::new(
                    String::from_utf8_lossy(name),
                    String::from_utf8_lossy(args.get("ip").unwrap_or_default()),
                    0,
                );
                match self.add_host(spec) {
                    Ok(id) => id,
                    Err(e) => return e,
                }
            }
        };
        let Some(host) = self.hosts.get_mut(&hostid) else {
            return Reply::err("failure");
        };
        let fields: [(&str, &mut Vec<u8>); 6] = [
            ("ip", &mut host.ip),
            ("port", &mut host.http_port),
            ("getport", &mut host.http_get_port),
            ("altip", &mut host.altip),
            ("altmask", &mut host.altmask),
            ("status", &mut host.status),
        ];
        for (arg, field) in fields {
            if let Some(v) = args.get(arg) {
                *field = v.to_vec();
            }
        }
        if let Some(s) = status {
            host.status = s;
        }
        Pairs::new()
            .with("hostid", hostid.to_string())
            .with("hostname", name)
            .reply()
    }

    pub(super) fn delete_host(&mut self, args: &ReqArgs) -> Reply {
        let Some(hostid) = self.hostid_by_name(args.get("host").unwrap_or_default()) else {
            return Reply::err("unknown_host");
        };
        if self.devices.values().any(|d| d.hostid == hostid) {
            return Reply::err("host_not_empty");
        }
        self.hosts.remove(&hostid);
        Reply::ok()
    }

    pub(super) fn get_hosts(&self, args: &ReqArgs) -> Reply {
        let filter = args.truthy("hostid").map(perl_num);
        let hosts: Vec<_> = self
            .hosts
            .iter()
            .filter(|(id, _)| filter.is_none_or(|f| i64::try_from(**id) == Ok(f)))
            .collect();
        let mut out = Pairs::new().with("hosts", hosts.len().to_string());
        for (i, (id, h)) in hosts.into_iter().enumerate() {
            let p = format!("host{}_", i + 1);
            out.put(format!("{p}hostid"), id.to_string())
                .put(format!("{p}status"), &h.status)
                .put(format!("{p}hostname"), &h.name)
                .put(format!("{p}hostip"), &h.ip)
                .put(format!("{p}http_port"), &h.http_port)
                .put(format!("{p}http_get_port"), &h.http_get_port)
                .put(format!("{p}altip"), &h.altip)
                .put(format!("{p}altmask"), &h.altmask);
        }
        out.reply()
    }

    pub(super) fn create_device(&mut self, args: &ReqArgs) -> Reply {
        let state = args.truthy("state").unwrap_or(b"alive");
        let Some(state) = DeviceState::parse(state) else {
            return Reply::err("invalid_state");
        };
        let devid = args.truthy("devid").unwrap_or_default();
        if devid.is_empty() || !devid.iter().all(u8::is_ascii_digit) {
            return Reply::err("invalid_devid");
        }
        let hostid = if let Some(id) = args
            .truthy("hostid")
            .filter(|v| v.iter().all(u8::is_ascii_digit))
        {
            match u64::try_from(perl_num(id))
                .ok()
                .filter(|id| self.hosts.contains_key(id))
            {
                Some(id) => id,
                None => return Reply::err("unknown_hostid"),
            }
        } else if let Some(name) = args.truthy("hostname") {
            match self.hostid_by_name(name) {
                Some(id) => id,
                None => return Reply::err("unknown_host"),
            }
        } else {
            return Reply::err_text("bad_args", "No hostid/hostname parameter");
        };
        let devid = u64::try_from(perl_num(devid)).unwrap_or(0);
        // A device the monitor has not seen yet: no space figures.
        match self.add_device(
            DeviceSpec::new(devid, hostid)
                .state(state)
                .space_mb(None, None),
        ) {
            Ok(()) => Reply::ok(),
            Err(e) => e,
        }
    }

    pub(super) fn get_devices(&self, args: &ReqArgs) -> Reply {
        let filter = args.truthy("devid").map(perl_num);
        let devs: Vec<_> = self
            .devices
            .iter()
            .filter(|(id, _)| filter.is_none_or(|f| i64::try_from(**id) == Ok(f)))
            .collect();
        let mut out = Pairs::new().with("devices", devs.len().to_string());
        let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        for (i, (id, d)) in devs.into_iter().enumerate() {
            let p = format!("dev{}_", i + 1);
            let host_ok = self
                .hosts
                .get(&d.hostid)
                .is_some_and(|h| h.status == b"alive");
            let known = d.mb_total.is_some();
            let observed = match (known && host_ok, d.state) {
                (false, _) => "",
                (true, DeviceState::Alive) => "writeable",
                (true, DeviceState::Dead | DeviceState::Down) => "unreachable",
                (true, _) => "readable",
            };
            out.put(format!("{p}devid"), id.to_string())
                .put(format!("{p}hostid"), d.hostid.to_string())
                .put(format!("{p}status"), d.state.as_str())
                .put(format!("{p}weight"), d.weight.to_string())
                .put(format!("{p}mb_total"), opt(d.mb_total))
                .put(format!("{p}mb_used"), opt(d.mb_used))
                .put(format!("{p}mb_free"), opt(d.mb_free()))
                .put(format!("{p}mb_asof"), "")
                .put(format!("{p}observed_state"), observed)
                .put(format!("{p}utilization"), "")
                .put(format!("{p}reject_bad_md5"), if known { "1" } else { "" });
        }
        out.reply()
    }

    /// The `host`/`device` checks shared by `set_state` and `set_weight`.
    fn device_of_host(&self, args: &ReqArgs) -> Result<u64, Reply> {
        let host = args.truthy("host").unwrap_or_default();
        let devid = u64::try_from(args.truthy("device").map_or(0, perl_num)).unwrap_or(0);
        let dev = self
            .devices
            .get(&devid)
            .ok_or_else(|| Reply::err("no_device"))?;
        if self.hosts.get(&dev.hostid).is_none_or(|h| h.name != host) {
            return Err(Reply::err("host_mismatch"));
        }
        Ok(devid)
    }

    pub(super) fn set_state(&mut self, args: &ReqArgs) -> Reply {
        let state = args.truthy("state").and_then(DeviceState::parse);
        let (Some(_), Some(_), Some(state)) = (args.truthy("host"), args.truthy("device"), state)
        else {
            return Reply::err("bad_params");
        };
        let devid = match self.device_of_host(args) {
            Ok(d) => d,
            Err(e) => return e,
        };
        let Some(dev) = self.devices.get_mut(&devid) else {
            return Reply::err("no_device");
        };
        if dev.state == DeviceState::Dead && state == DeviceState::Alive {
            return Reply::err("state_too_high");
        }
        dev.state = state;
        Reply::ok()
    }

    pub(super) fn set_weight(&mut self, args: &ReqArgs) -> Reply {
        // `$weight >= 0` on undef is true: a missing weight silently sets 0.
        let weight = args.num("weight");
        if args.truthy("host").is_none() || args.truthy("device").is_none() || weight < 0 {
            return Reply::err("bad_params");
        }
        let devid = match self.device_of_host(args) {
            Ok(d) => d,
            Err(e) => return e,
        };
        if let Some(dev) = self.devices.get_mut(&devid) {
            dev.weight = weight;
        }
        Reply::ok()
    }
}

#[cfg(test)]
mod tests {
    use crate::tracker::{HostSpec, Model};

    #[test]
    fn shared_ip_is_opt_in() {
        let model = Model::new();
        model
            .add_host(HostSpec::new("h1", "127.0.0.1", 7500))
            .unwrap();
        let err = model
            .add_host(HostSpec::new("h2", "127.0.0.1", 7501))
            .unwrap_err();
        assert_eq!(err.code, "dup");
        let h2 = model
            .add_host(HostSpec::new("h2", "127.0.0.1", 7501).allow_shared_ip(true))
            .unwrap();
        assert_eq!(model.host_status(h2).as_deref(), Some("alive"));
        // Only the IP check is skipped: a taken name is still refused.
        let err = model
            .add_host(HostSpec::new("h2", "127.0.0.1", 7502).allow_shared_ip(true))
            .unwrap_err();
        assert_eq!(err.code, "host_exists");
    }
}
