//! Server settings and the maintenance commands (fsck, rebalance, replication, diagnostics).

use super::model::{Model, State};
use super::wire::{Pairs, Reply, ReqArgs};

/// The "invalid format" text of `MogileFS::Config` validators (as captured for a boolean).
const INVALID_FORMAT: &str = "Unknown format at lib/MogileFS/Config.pm line 344, <GEN8> line 2.\n";

/// A writable setting's validator: the cleaned value, or the `invalid_format` text.
fn validate_setting(key: &str, value: &[u8]) -> Option<Result<String, String>> {
    let v = String::from_utf8_lossy(value).into_owned();
    let boolean = |v: &str| match v.to_ascii_lowercase().as_str() {
        "1" | "on" | "true" | "yes" | "t" | "y" => Ok("1".to_owned()),
        "0" | "off" | "false" | "no" | "f" | "n" => Ok("0".to_owned()),
        _ => Err(INVALID_FORMAT.to_owned()),
    };
    let number = |v: &str| {
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            Ok(v.to_owned())
        } else {
            Err(INVALID_FORMAT.to_owned())
        }
    };
    Some(match key {
        "case_sensitive_list_keys" | "skip_mkcol" | "skip_devcount" => boolean(&v),
        "memcache_ttl" | "internal_queue_limit" => number(&v),
        "memcache_servers" | "network_zones" | "fsck_checksum" => Ok(v),
        k if k.starts_with("zone_") || k.starts_with("slave_") => Ok(v),
        k if k.starts_with("queue_size_for_") || k.starts_with("queue_rate_for_") => number(&v),
        _ => return None,
    })
}

impl State {
    fn server_settings(&self) -> Reply {
        let mut out = Pairs::new().with("key_count", self.settings.len().to_string());
        for (i, (k, v)) in self.settings.iter().enumerate() {
            out.put(format!("key_{}", i + 1), k)
                .put(format!("value_{}", i + 1), v);
        }
        out.reply()
    }

    fn set_server_setting(&mut self, args: &ReqArgs) -> Reply {
        let Some(key) = args.truthy("key") else {
            return Reply::err("bad_params");
        };
        let key = String::from_utf8_lossy(key).into_owned();
        match validate_setting(&key, args.get("value").unwrap_or_default()) {
            None => Reply::err("not_writable"),
            Some(Err(text)) => Reply::err_text("invalid_format", text),
            Some(Ok(v)) => {
                self.settings.insert(key, v);
                Reply::ok()
            }
        }
    }
}

impl Model {
    /// Runs one settings or maintenance command; `None` when `cmd` is not one of them.
    pub(crate) fn maintenance_command(&self, cmd: &str, args: &ReqArgs) -> Option<Reply> {
        let mut st = self.lock();
        Some(match cmd {
            "noop" | "clear_cache" | "do_monitor_round" => Reply::ok(),
            "test" if args.truthy("crash").is_some() => Reply::err("failure"),
            "test" => Reply::ok(),
            "server_settings" => st.server_settings(),
            "server_setting" => match args.truthy("key") {
                None => Reply::err("bad_params"),
                Some(k) => {
                    let v = st
                        .settings
                        .get(String::from_utf8_lossy(k).as_ref())
                        .cloned()
                        .unwrap_or_default();
                    Pairs::new().with("key", k).with("value", v).reply()
                }
            },
            "set_server_setting" => st.set_server_setting(args),
            // Replication is the cluster's business (Model::add_replica); nothing is ever deferred here.
            "replicate_now" => Pairs::new().with("count", "0").reply(),
            "fsck_status" => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                Pairs::new()
                    .with("running", "0")
                    .with("host", "")
                    .with("max_fid_checked", "0")
                    .with("policy_only", "0")
                    .with("end_fid", "0")
                    .with("start_time", "0")
                    .with("stop_time", "0")
                    .with("current_time", now.to_string())
                    .with("max_logid", "0")
                    .reply()
            }
            "fsck_getlog" => Pairs::new().with("row_count", "0").reply(),
            "fsck_start" | "fsck_stop" | "fsck_reset" | "fsck_clearlog" | "rebalance_reset" => {
                Reply::ok()
            }
            "rebalance_status" => Reply::err("no_rebal_state"),
            "rebalance_start" | "rebalance_test" => Reply::err("no_rebal_policy"),
            "rebalance_stop" => Reply::err("rebal_not_started"),
            "rebalance_set_policy" => Reply::err_text("bad_rebal_pol", "Bad rebalance policy"),
            // edit_file needs memcached and httpcopy a working copy path: both die in this setup.
            "edit_file" | "httpcopy" => Reply::err("failure"),
            _ => return None,
        })
    }
}
