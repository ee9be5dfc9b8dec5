//! `mogile admin ...`: domains, classes, hosts, devices and server settings.

mod check;
mod classes;
mod nodes;

use mogilefs::Admin as Handle;
use serde_json::{Value, json};

use super::{Ctx, op_failure};
use crate::cli::{Admin, DomainCmd, SettingsCmd};
use crate::exit::Failure;
use crate::output::Table;

/// Runs one `admin` subcommand.
pub(crate) async fn run(ctx: &mut Ctx, command: Admin) -> Result<(), Failure> {
    let admin = ctx.client.admin();
    match command {
        Admin::Domain { command } => domain(ctx, &admin, command).await,
        Admin::Class { command } => classes::class(ctx, &admin, command).await,
        Admin::Host { command } => nodes::host(ctx, &admin, command).await,
        Admin::Device { command } => nodes::device(ctx, &admin, command).await,
        Admin::Settings { command } => settings(ctx, &admin, command).await,
        Admin::Check { max_used } => check::check(ctx, max_used).await,
    }
}

/// Maps an admin failure (always status 1: no key is involved).
pub(super) fn fail(what: &str) -> impl Fn(mogilefs::Error) -> Failure + '_ {
    move |e| op_failure(what, &e, false)
}

/// Reports a change: a line of text, or `{"ok": true, ...}`.
pub(super) fn done(ctx: &mut Ctx, text: String, mut doc: Value) -> Result<(), Failure> {
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
