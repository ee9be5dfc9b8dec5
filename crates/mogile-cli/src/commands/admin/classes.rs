//! `admin class ...`.

use mogilefs::Admin as Handle;
use mogilefs::admin::{CreateClass, HashType, UpdateClass};
use serde_json::json;

use super::{done, fail};
use crate::cli::{ClassCmd, ClassProps};
use crate::commands::Ctx;
use crate::exit::Failure;
use crate::output::Table;

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

pub(super) async fn class(ctx: &mut Ctx, admin: &Handle, command: ClassCmd) -> Result<(), Failure> {
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
