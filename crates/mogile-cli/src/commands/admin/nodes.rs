//! `admin host ...` and `admin device ...`.

use mogilefs::admin::{CreateDevice, CreateHost, DeviceInfo, UpdateHost};
use mogilefs::{Admin as Handle, DevId};
use serde_json::json;

use super::{done, fail};
use crate::cli::{DeviceCmd, HostCmd, HostProps};
use crate::commands::Ctx;
use crate::exit::Failure;
use crate::key_text::display;
use crate::output::Table;

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

pub(super) async fn host(ctx: &mut Ctx, admin: &Handle, command: HostCmd) -> Result<(), Failure> {
    match command {
        HostCmd::List => {
            let mut hosts = admin.hosts().await.map_err(fail("admin host list"))?;
            hosts.sort_by_key(|h| h.hostid);
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

pub(super) async fn device(
    ctx: &mut Ctx,
    admin: &Handle,
    command: DeviceCmd,
) -> Result<(), Failure> {
    match command {
        DeviceCmd::List => {
            let mut devices = admin.devices().await.map_err(fail("admin device list"))?;
            devices.sort_by_key(|d| d.devid.0);
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
            // `host` may be the tracker's text (looked up from the device).
            let text = format!("device {devid} on {} is now {state}", display(&host));
            done(ctx, text, doc)
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
            let text = format!("device {devid} on {} now weighs {weight}", display(&host));
            done(ctx, text, doc)
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
