//! Admin commands on domains and classes, and the dispatch of every layout admin command.

use std::collections::BTreeMap;

use super::model::{Class, Domain, Model, State};
use super::wire::{Pairs, Reply, ReqArgs, is_truthy};

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
    pub(crate) fn create_domain(&mut self, name: &[u8]) -> Result<(), Reply> {
        if self.dmid(name).is_some() {
            return Err(Reply::err("domain_exists"));
        }
        let dmid = self.next_dmid;
        self.next_dmid += 1;
        let mut classes = BTreeMap::new();
        classes.insert(
            0,
            Class {
                name: b"default".to_vec(),
                mindevcount: self.default_mindevcount,
                replpolicy: "MultipleHosts()".to_owned(),
                hashtype: None,
            },
        );
        self.domains.insert(
            dmid,
            Domain {
                name: name.to_vec(),
                classes,
                next_classid: 1,
            },
        );
        Ok(())
    }

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
