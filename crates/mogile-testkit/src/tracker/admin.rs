//! Admin commands on the cluster layout: domains, classes, hosts and devices.

use super::model::{Class, DeviceSpec, DeviceState, HostSpec, Model, State, valid_host_status};
use super::wire::{Pairs, Reply, ReqArgs, is_truthy, perl_num};

/// Replication policies the stock server can load.
const POLICIES: [&str; 5] = [
    "MultipleHosts",
    "MultipleDevices",
    "Union",
    "HostsPerNetwork",
    "MultipleNetworks",
];

/// `MogileFS::ReplicationPolicy->new_from_policy_string`: a known policy name followed by `(...)`;
/// anything else fails with the Perl loader's message.
fn check_replpolicy(s: &str) -> Result<(), Reply> {
    let name: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let rest = &s[name.len()..];
    if POLICIES.contains(&name.as_str()) && rest.starts_with('(') && rest.ends_with(')') {
        return Ok(());
    }
    let module = format!("MogileFS::ReplicationPolicy::{name}");
    let file = format!("MogileFS/ReplicationPolicy/{name}.pm");
    let at = "at (eval 26) line 1, <GEN8> line 2.";
    Err(Reply::err_text(
        "invalid_replpolicy",
        format!(
            "Failed to load replication policy class {module}: Can't locate {file} in @INC (you may need to \
             install the {module} module) (@INC contains: ...) {at}\nBEGIN failed--compilation aborted {at}\n\n"
        ),
    ))
}

impl State {
    /// `create_class` / `update_class` (`update` true), in the server's check order.
    pub(crate) fn upsert_class(
        &mut self,
        domain: &[u8],
        class: &[u8],
        mindevcount: i64,
        replpolicy: &[u8],
        hashtype: Option<&[u8]>,
        update: bool,
    ) -> Result<(), Reply> {
        if domain.is_empty() {
            return Err(Reply::err("no_domain"));
        }
        if class.is_empty() {
            return Err(Reply::err("no_class"));
        }
        if mindevcount <= 0 {
            return Err(Reply::err("invalid_mindevcount"));
        }
        if is_truthy(replpolicy) {
            check_replpolicy(&String::from_utf8_lossy(replpolicy))?;
        }
        let hashtype = match hashtype.filter(|h| is_truthy(h)) {
            None => None,
            Some(b"NONE") => Some(None),
            Some(b"MD5") => Some(Some("MD5")),
            Some(b"SHA-1") => Some(Some("SHA-1")),
            Some(_) => return Err(Reply::err("invalid_hashtype")),
        };
        let dmid = self
            .dmid(domain)
            .ok_or_else(|| Reply::err("domain_not_found"))?;
        let existing = self.classid(dmid, class);
        let Some(dom) = self.domains.get_mut(&dmid) else {
            return Err(Reply::err("domain_not_found"));
        };
        let classid = match (update, existing) {
            (true, None) => return Err(Reply::err("class_not_found")),
            (false, Some(_)) => return Err(Reply::err("class_exists")),
            (true, Some(id)) => id,
            (false, None) => {
                let id = dom.next_classid;
                dom.next_classid += 1;
                let class = Class {
                    name: class.to_vec(),
                    mindevcount,
                    replpolicy: "MultipleHosts()".to_owned(),
                    hashtype: None,
                };
                dom.classes.insert(id, class);
                id
            }
        };
        let Some(c) = dom.classes.get_mut(&classid) else {
            return Err(Reply::err("failure"));
        };
        c.mindevcount = mindevcount;
        if is_truthy(replpolicy) {
            c.replpolicy = String::from_utf8_lossy(replpolicy).into_owned();
        }
        if let Some(h) = hashtype {
            c.hashtype = h;
        }
        Ok(())
    }

    fn get_domains(&self) -> Reply {
        let mut out = Pairs::new().with("domains", self.domains.len().to_string());
        for (i, dom) in self.domains.values().enumerate() {
            let d = i + 1;
            out.put(format!("domain{d}"), &dom.name);
            out.put(format!("domain{d}classes"), dom.classes.len().to_string());
            for (j, c) in dom.classes.values().enumerate() {
                let p = format!("domain{d}class{}", j + 1);
                out.put(format!("{p}name"), &c.name)
                    .put(format!("{p}mindevcount"), c.mindevcount.to_string())
                    .put(format!("{p}replpolicy"), &c.replpolicy)
                    .put(format!("{p}hashtype"), c.hashtype.unwrap_or("NONE"));
            }
        }
        out.reply()
    }

    fn delete_domain(&mut self, args: &ReqArgs) -> Reply {
        let Some(name) = args.truthy("domain") else {
            return Reply::err("no_domain");
        };
        let Some(dmid) = self.dmid(name) else {
            return Reply::err("domain_not_found");
        };
        if self.files.values().any(|f| f.dmid == dmid) {
            return Reply::err("domain_has_files");
        }
        if self
            .domains
            .get(&dmid)
            .is_some_and(|d| d.classes.keys().any(|&id| id != 0))
        {
            return Reply::err("domain_has_classes");
        }
        self.domains.remove(&dmid);
        Pairs::new().with("domain", name).reply()
    }

    fn delete_class(&mut self, args: &ReqArgs) -> Reply {
        let domain = args.get("domain").unwrap_or_default();
        if domain.is_empty() {
            return Reply::err("no_domain");
        }
        // Server bug copied: the `no_class` check tests the domain again, so a missing class falls
        // through to `class_not_found`.
        let class = args.get("class").unwrap_or_default();
        if class == b"default" {
            return Reply::err("nodel_default_class");
        }
        let Some(dmid) = self.dmid(domain) else {
            return Reply::err("domain_not_found");
        };
        let Some(classid) = self.classid(dmid, class) else {
            return Reply::err("class_not_found");
        };
        if self
            .files
            .values()
            .any(|f| f.dmid == dmid && f.classid == classid)
        {
            return Reply::err("class_has_files");
        }
        if let Some(d) = self.domains.get_mut(&dmid) {
            d.classes.remove(&classid);
        }
        Pairs::new()
            .with("domain", domain)
            .with("class", class)
            .reply()
    }

    fn create_or_update_host(&mut self, args: &ReqArgs, update: bool) -> Reply {
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

    fn delete_host(&mut self, args: &ReqArgs) -> Reply {
        let Some(hostid) = self.hostid_by_name(args.get("host").unwrap_or_default()) else {
            return Reply::err("unknown_host");
        };
        if self.devices.values().any(|d| d.hostid == hostid) {
            return Reply::err("host_not_empty");
        }
        self.hosts.remove(&hostid);
        Reply::ok()
    }

    fn get_hosts(&self, args: &ReqArgs) -> Reply {
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

    fn create_device(&mut self, args: &ReqArgs) -> Reply {
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

    fn get_devices(&self, args: &ReqArgs) -> Reply {
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

    fn set_state(&mut self, args: &ReqArgs) -> Reply {
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

    fn set_weight(&mut self, args: &ReqArgs) -> Reply {
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

impl Model {
    /// Runs one layout admin command; `None` when `cmd` is not one of them.
    pub(crate) fn layout_command(&self, cmd: &str, args: &ReqArgs) -> Option<Reply> {
        let mut st = self.lock();
        let class_args = |update| {
            (
                args.get("domain").unwrap_or_default(),
                args.get("class").unwrap_or_default(),
                args.num("mindevcount"),
                args.get("replpolicy").unwrap_or_default(),
                args.get("hashtype"),
                update,
            )
        };
        Some(match cmd {
            "get_domains" => st.get_domains(),
            "create_domain" => match args.truthy("domain") {
                None => Reply::err("no_domain"),
                Some(d) => match st.create_domain(d) {
                    Ok(()) => Pairs::new().with("domain", d).reply(),
                    Err(e) => e,
                },
            },
            "delete_domain" => st.delete_domain(args),
            "create_class" | "update_class" => {
                let (d, c, m, r, h, u) = class_args(cmd == "update_class");
                match st.upsert_class(d, c, m, r, h, u) {
                    Ok(()) => Pairs::new()
                        .with("domain", d)
                        .with("class", c)
                        .with("mindevcount", m.to_string())
                        .reply(),
                    Err(e) => e,
                }
            }
            "delete_class" => st.delete_class(args),
            "get_hosts" => st.get_hosts(args),
            "create_host" => st.create_or_update_host(args, false),
            "update_host" => st.create_or_update_host(args, true),
            "delete_host" => st.delete_host(args),
            "get_devices" => st.get_devices(args),
            "create_device" => st.create_device(args),
            "set_state" => st.set_state(args),
            "set_weight" => st.set_weight(args),
            _ => return None,
        })
    }
}
