//! How `admin check` shows its report: sections of aligned columns, or one JSON document.

use std::time::Duration;

use mogilefs::admin::DeviceUsage;
use serde_json::{Value, json};

use super::{Report, percent};
use crate::commands::Ctx;
use crate::exit::Failure;
use crate::output::Table;

/// KiB as GiB with two decimals.
fn gib(kib: u64) -> String {
    format!("{:.2}", kib as f64 / (1024.0 * 1024.0))
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

impl Report {
    /// (total, used, free) KiB over every device whose usage was read.
    fn total(&self) -> (u64, u64, u64) {
        self.devices
            .iter()
            .filter_map(|d| d.usage.as_ref())
            .fold((0, 0, 0), |(t, u, f), x| {
                (
                    t.saturating_add(x.total_kib),
                    u.saturating_add(x.used_kib),
                    f.saturating_add(x.available_kib()),
                )
            })
    }

    pub(super) fn render(&self, ctx: &mut Ctx) -> Result<(), Failure> {
        if ctx.out.is_json() {
            return ctx.out.json(&self.to_json());
        }
        let out = &mut ctx.out;
        let mut t = Table::new(&["tracker", "state", "latency_ms", "error"]);
        for r in &self.trackers {
            let state = if r.error.is_none() {
                "ok"
            } else {
                "UNREACHABLE"
            };
            t.row(vec![
                r.address.clone().into(),
                state.into(),
                r.latency.map(ms).into(),
                r.error.clone().into(),
            ]);
        }
        out.table(&t)?;
        out.line("")?;

        let mut t = Table::new(&["hostid", "host", "status", "observed"]);
        for (h, observed) in &self.hosts {
            t.row(vec![
                h.hostid.into(),
                h.hostname.clone().into(),
                h.status.clone().into(),
                observed.as_str().into(),
            ]);
        }
        out.table(&t)?;
        out.line("")?;

        let mut t = Table::new(&[
            "devid", "host", "status", "observed", "size_gib", "used_gib", "free_gib", "use%",
        ]);
        for d in &self.devices {
            let space = |f: fn(&DeviceUsage) -> u64| d.usage.as_ref().map(|u| gib(f(u)));
            t.row(vec![
                d.info.devid.0.into(),
                d.host.clone().into(),
                d.info.status.clone().into(),
                d.observed.as_str().into(),
                space(|u| u.total_kib).into(),
                space(|u| u.used_kib).into(),
                space(DeviceUsage::available_kib).into(),
                d.usage
                    .as_ref()
                    .map(|u| format!("{:.1}", percent(u.used_kib, u.total_kib)))
                    .into(),
            ]);
        }
        let (total, used, free) = self.total();
        t.row(vec![
            "total".into(),
            Value::Null,
            Value::Null,
            Value::Null,
            gib(total).into(),
            gib(used).into(),
            gib(free).into(),
            format!("{:.1}", percent(used, total)).into(),
        ]);
        out.table(&t)?;
        out.line("")?;

        let mut t = Table::new(&["domain", "class", "mindevcount"]);
        for (domain, class, n) in &self.classes {
            t.row(vec![
                domain.clone().into(),
                class.clone().into(),
                (*n).into(),
            ]);
        }
        out.table(&t)?;
        out.line("")?;
        if self.problems.is_empty() {
            return out.line("ok: nothing needs attention");
        }
        for p in &self.problems {
            out.line(&format!("PROBLEM: {p}"))?;
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        let trackers: Vec<Value> = self
            .trackers
            .iter()
            .map(|r| {
                json!({
                    "address": r.address,
                    "reachable": r.error.is_none(),
                    "latency_ms": r.latency.map(ms),
                    "error": r.error,
                })
            })
            .collect();
        let hosts: Vec<Value> = self
            .hosts
            .iter()
            .map(|(h, observed)| {
                json!({
                    "hostid": h.hostid,
                    "hostname": h.hostname,
                    "status": h.status,
                    "observed": observed.as_str(),
                })
            })
            .collect();
        let devices: Vec<Value> = self
            .devices
            .iter()
            .map(|d| {
                let u = d.usage.as_ref();
                json!({
                    "devid": d.info.devid.0,
                    "hostid": d.info.hostid,
                    "host": d.host,
                    "status": d.info.status,
                    "observed": d.observed.as_str(),
                    "error": d.error,
                    "total_kib": u.map(|u| u.total_kib),
                    "used_kib": u.map(|u| u.used_kib),
                    "free_kib": u.map(DeviceUsage::available_kib),
                    "used_percent": u.map(|u| percent(u.used_kib, u.total_kib)),
                })
            })
            .collect();
        let classes: Vec<Value> = self
            .classes
            .iter()
            .map(|(d, c, n)| json!({ "domain": d, "class": c, "mindevcount": n }))
            .collect();
        let (total, used, free) = self.total();
        json!({
            "ok": self.problems.is_empty(),
            "max_used_percent": self.max_used,
            "trackers": trackers,
            "hosts": hosts,
            "devices": devices,
            "total": {
                "total_kib": total,
                "used_kib": used,
                "free_kib": free,
                "used_percent": percent(used, total),
            },
            "classes": classes,
            "problems": self.problems,
        })
    }
}
