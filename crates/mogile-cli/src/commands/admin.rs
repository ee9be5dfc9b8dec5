//! `mogile admin ...`: domains, classes, hosts, devices and server settings.

use mogilefs::lower::protocol::{
    CreateClass, CreateDevice, CreateHost, DeviceInfo, HashType, UpdateClass, UpdateHost,
};
use mogilefs::{Admin as Handle, DevId};
use serde_json::{Value, json};

use super::{Ctx, op_failure};
use crate::cli::{
    Admin, ClassCmd, ClassProps, DeviceCmd, DomainCmd, HostCmd, HostProps, SettingsCmd,
};
use crate::exit::Failure;
use crate::output::Table;

/// Runs one `admin` subcommand.
pub(crate) async fn run(ctx: &mut Ctx, command: Admin) -> Result<(), Failure> {
    let admin = ctx.client.admin();
    match command {
        Admin::Domain { command } => domain(ctx, &admin, command).await,
        Admin::Class { command } => class(ctx, &admin, command).await,
        Admin::Host { command } => host(ctx, &admin, command).await,
        Admin::Device { command } => device(ctx, &admin, command).await,
        Admin::Settings { command } => settings(ctx, &admin, command).await,
    }
}

/// Maps an admin failure (always status 1: no key is involved).
fn fail(what: &str) -> impl Fn(mogilefs::Error) -> Failure + '_ {
    move |e| op_failure(what, &e, false)
}

/// Reports a change: a line of text, or `{"ok": true, ...}`.
fn done(ctx: &mut Ctx, text: String, mut doc: Value) -> Result<(), Failure> {
    if ctx.out.is_json() {
        doc["ok"] = Value::Bool(true);
        ctx.out.json(&doc)
    } else if ctx.quiet {
        Ok(())
    } else {
        ctx.out.line(&text)
    }
}

async fn domain(ctx: &mut Ctx, admin: &Handle, command: DomainCmd) -> Result<(), Failure> {
    match command {
        DomainCmd::List => {
            let domains = admin.domains().await.map_err(fail("admin domain list"))?;
            let mut t = Table::new(&["domain", "classes"]);
            for d in domains {
                let classes: Vec<Value> = d.classes.into_iter().map(|c| c.name.into()).collect();
                t.row(vec![d.name.into(), classes.into()]);
            }
            ctx.out.table(&t)
        }
        DomainCmd::Create { name } => {
            let what = format!("admin domain create {name}");
            admin.create_domain(&name).await.map_err(fail(&what))?;
            done(
                ctx,
                format!("created domain {name}"),
                json!({ "domain": name }),
            )
        }
        DomainCmd::Delete { name } => {
            let what = format!("admin domain delete {name}");
            admin.delete_domain(&name).await.map_err(fail(&what))?;
            done(
                ctx,
                format!("deleted domain {name}"),
                json!({ "domain": name }),
            )
        }
    }
}

/// Parses `--hashtype`: `MD5`, `SHA-1` (or `SHA1`), or `NONE`, in any case.
fn hashtype(arg: &str) -> Result<Option<HashType>, Failure> {
    match arg.to_ascii_uppercase().as_str() {
        "NONE" => Ok(None),
        "SHA1" => Ok(Some(HashType::Sha1)),
        upper => upper
            .parse()
            .map(Some)
            .map_err(|_| Failure::usage(format!("--hashtype {arg}: expected MD5, SHA-1 or NONE"))),
    }
}

/// Sets `--replpolicy` and `--hashtype` on a create or update command (they share the setters);
/// `?` returns a bad `--hashtype` from the calling function.
macro_rules! class_props {
    ($cmd:expr, $props:expr) => {{
        let mut cmd = $cmd;
        let p: &ClassProps = $props;
        if let Some(v) = &p.replpolicy {
            cmd = cmd.replpolicy(v.clone());
        }
        if let Some(v) = &p.hashtype {
            cmd = cmd.hashtype(hashtype(v)?);
        }
        cmd
    }};
}

async fn class(ctx: &mut Ctx, admin: &Handle, command: ClassCmd) -> Result<(), Failure> {
    match command {
        ClassCmd::List {
            domain_name: domain,
        } => {
            let domains = admin.domains().await.map_err(fail("admin class list"))?;
            if let Some(d) = domain
                .as_ref()
                .filter(|d| !domains.iter().any(|x| &x.name == *d))
            {
                return Err(Failure::failed(format!(
                    "admin class list: unknown domain {d:?}"
                )));
            }
            let mut t = Table::new(&["domain", "class", "mindevcount", "replpolicy", "hashtype"]);
            for d in domains
                .iter()
                .filter(|d| domain.as_ref().is_none_or(|n| &d.name == n))
            {
                for c in &d.classes {
                    let hash = c.hashtype.map_or("NONE", |h| h.as_str());
                    t.row(vec![
                        d.name.clone().into(),
                        c.name.clone().into(),
                        c.mindevcount.into(),
                        c.replpolicy.clone().into(),
                        hash.into(),
                    ]);
                }
            }
            ctx.out.table(&t)
        }
        ClassCmd::Create {
            domain_name: domain,
            class,
            props,
        } => {
            let what = format!("admin class create {domain} {class}");
            let Some(mindevcount) = props.mindevcount else {
                return Err(Failure::usage(format!("{what}: --mindevcount is required")));
            };
            let cmd = class_props!(CreateClass::new(&domain, &class, mindevcount), &props);
            let out = admin.create_class(cmd).await.map_err(fail(&what))?;
            let doc = json!({ "domain": domain, "class": class, "mindevcount": out.mindevcount });
            done(ctx, format!("created class {class} in {domain}"), doc)
        }
        ClassCmd::Update {
            domain_name: domain,
            class,
            props,
        } => {
            let what = format!("admin class update {domain} {class}");
            // The tracker requires mindevcount even on update: keep the current value.
            let mindevcount = match props.mindevcount {
                Some(n) => n,
                None => current_mindevcount(admin, &domain, &class, &what).await?,
            };
            let cmd = class_props!(UpdateClass::new(&domain, &class, mindevcount), &props);
            let out = admin.update_class(cmd).await.map_err(fail(&what))?;
            let doc = json!({ "domain": domain, "class": class, "mindevcount": out.mindevcount });
            done(ctx, format!("updated class {class} in {domain}"), doc)
        }
        ClassCmd::Delete {
            domain_name: domain,
            class,
        } => {
            let what = format!("admin class delete {domain} {class}");
            admin
                .delete_class(&domain, &class)
                .await
                .map_err(fail(&what))?;
            let doc = json!({ "domain": domain, "class": class });
            done(ctx, format!("deleted class {class} from {domain}"), doc)
        }
    }
}

async fn current_mindevcount(
    admin: &Handle,
    domain: &str,
    class: &str,
    what: &str,
) -> Result<u32, Failure> {
    let classes = admin.classes(domain).await.map_err(fail(what))?;
    classes
        .iter()
        .find(|c| c.name == class)
        .map(|c| c.mindevcount)
        .ok_or_else(|| {
            Failure::failed(format!(
                "{what}: unknown class {class:?} in domain {domain:?}"
            ))
        })
}

/// Sets the optional host properties on a create or update command (they share the setters).
macro_rules! host_props {
    ($cmd:expr, $props:expr) => {{
        let mut cmd = $cmd;
        let p: &HostProps = $props;
        if let Some(v) = &p.getport {
            cmd = cmd.getport(*v);
        }
        if let Some(v) = &p.status {
            cmd = cmd.status(v.clone());
        }
        if let Some(v) = &p.altip {
            cmd = cmd.altip(v.clone());
        }
        if let Some(v) = &p.altmask {
            cmd = cmd.altmask(v.clone());
        }
        cmd
    }};
}

async fn host(ctx: &mut Ctx, admin: &Handle, command: HostCmd) -> Result<(), Failure> {
    match command {
        HostCmd::List => {
            let hosts = admin.hosts().await.map_err(fail("admin host list"))?;
            let mut t = Table::new(&[
                "hostid",
                "hostname",
                "status",
                "hostip",
                "http_port",
                "http_get_port",
                "altip",
                "altmask",
            ]);
            for h in hosts {
                t.row(vec![
                    h.hostid.into(),
                    h.hostname.into(),
                    h.status.into(),
                    h.hostip.into(),
                    h.http_port.into(),
                    h.http_get_port.into(),
                    h.altip.into(),
                    h.altmask.into(),
                ]);
            }
            ctx.out.table(&t)
        }
        HostCmd::Add { name, props } => {
            let what = format!("admin host add {name}");
            let (Some(ip), Some(port)) = (&props.ip, props.port) else {
                return Err(Failure::usage(format!(
                    "{what}: --ip and --port are required"
                )));
            };
            let cmd = host_props!(CreateHost::new(&name, ip.clone(), port), &props);
            let r = admin.create_host(cmd).await.map_err(fail(&what))?;
            let doc = json!({ "hostid": r.hostid, "hostname": r.hostname });
            done(ctx, format!("added host {name} (hostid {})", r.hostid), doc)
        }
        HostCmd::Modify { name, props } => {
            let what = format!("admin host modify {name}");
            let mut cmd = UpdateHost::new(&name);
            if let Some(ip) = &props.ip {
                cmd = cmd.ip(ip.clone());
            }
            if let Some(port) = props.port {
                cmd = cmd.port(port);
            }
            let cmd = host_props!(cmd, &props);
            let r = admin.update_host(cmd).await.map_err(fail(&what))?;
            let doc = json!({ "hostid": r.hostid, "hostname": r.hostname });
            done(ctx, format!("modified host {name}"), doc)
        }
        HostCmd::Delete { name } => {
            let what = format!("admin host delete {name}");
            admin.delete_host(&name).await.map_err(fail(&what))?;
            done(
                ctx,
                format!("deleted host {name}"),
                json!({ "hostname": name }),
            )
        }
    }
}

async fn device(ctx: &mut Ctx, admin: &Handle, command: DeviceCmd) -> Result<(), Failure> {
    match command {
        DeviceCmd::List => {
            let devices = admin.devices().await.map_err(fail("admin device list"))?;
            let hosts = admin.hosts().await.map_err(fail("admin device list"))?;
            let name_of = |d: &DeviceInfo| {
                hosts
                    .iter()
                    .find(|h| h.hostid == d.hostid)
                    .map(|h| h.hostname.clone())
            };
            let mut t = Table::new(&[
                "devid",
                "host",
                "hostid",
                "status",
                "weight",
                "observed_state",
                "mb_total",
                "mb_used",
                "mb_free",
                "utilization",
            ]);
            for d in &devices {
                t.row(vec![
                    d.devid.0.into(),
                    name_of(d).into(),
                    d.hostid.into(),
                    d.status.clone().into(),
                    d.weight.into(),
                    d.observed_state.clone().into(),
                    d.mb_total.into(),
                    d.mb_used.into(),
                    d.mb_free.into(),
                    d.utilization.clone().into(),
                ]);
            }
            ctx.out.table(&t)
        }
        DeviceCmd::Add { host, devid, state } => {
            let what = format!("admin device add {host} {devid}");
            let mut cmd = CreateDevice::new(DevId(devid.into()), &host);
            if let Some(s) = state {
                cmd = cmd.state(s);
            }
            admin.create_device(cmd).await.map_err(fail(&what))?;
            let doc = json!({ "host": host, "devid": devid });
            done(ctx, format!("added device {devid} on {host}"), doc)
        }
        DeviceCmd::SetState { devid, state, host } => {
            let what = format!("admin device set-state {devid} {state}");
            let host = device_host(admin, devid, host, &what).await?;
            admin
                .set_device_state(&host, DevId(devid.into()), &state)
                .await
                .map_err(fail(&what))?;
            let doc = json!({ "host": host, "devid": devid, "state": state });
            done(ctx, format!("device {devid} on {host} is now {state}"), doc)
        }
        DeviceCmd::SetWeight {
            devid,
            weight,
            host,
        } => {
            let what = format!("admin device set-weight {devid} {weight}");
            let host = device_host(admin, devid, host, &what).await?;
            admin
                .set_device_weight(&host, DevId(devid.into()), weight)
                .await
                .map_err(fail(&what))?;
            let doc = json!({ "host": host, "devid": devid, "weight": weight });
            done(
                ctx,
                format!("device {devid} on {host} now weighs {weight}"),
                doc,
            )
        }
    }
}

/// The host name `set_state`/`set_weight` need: `--host`, or looked up from the device.
async fn device_host(
    admin: &Handle,
    devid: u32,
    host: Option<String>,
    what: &str,
) -> Result<String, Failure> {
    if let Some(host) = host {
        return Ok(host);
    }
    let devices = admin.devices().await.map_err(fail(what))?;
    let dev = devices
        .iter()
        .find(|d| d.devid.0 == u64::from(devid))
        .ok_or_else(|| Failure::failed(format!("{what}: no device {devid}")))?;
    let hosts = admin.hosts().await.map_err(fail(what))?;
    hosts
        .into_iter()
        .find(|h| h.hostid == dev.hostid)
        .map(|h| h.hostname)
        .ok_or_else(|| Failure::failed(format!("{what}: device {devid} has no known host")))
}

async fn settings(ctx: &mut Ctx, admin: &Handle, command: SettingsCmd) -> Result<(), Failure> {
    match command {
        SettingsCmd::List => {
            let settings = admin
                .server_settings()
                .await
                .map_err(fail("admin settings list"))?;
            let mut t = Table::new(&["key", "value"]);
            for (k, v) in settings {
                t.row(vec![k.into(), v.into()]);
            }
            ctx.out.table(&t)
        }
        SettingsCmd::Set { key, value } => {
            let what = format!("admin settings set {key}");
            admin
                .set_server_setting(&key, &value)
                .await
                .map_err(fail(&what))?;
            done(
                ctx,
                format!("set {key} = {value}"),
                json!({ "key": key, "value": value }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_types() {
        assert_eq!(hashtype("md5").unwrap(), Some(HashType::Md5));
        assert_eq!(hashtype("SHA-1").unwrap(), Some(HashType::Sha1));
        assert_eq!(hashtype("sha1").unwrap(), Some(HashType::Sha1));
        assert_eq!(hashtype("none").unwrap(), None);
        assert_eq!(hashtype("crc32").unwrap_err().code(), 2);
    }
}
