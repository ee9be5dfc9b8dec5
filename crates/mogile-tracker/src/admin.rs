//! [`AdminCommands`]: named methods for the admin commands (domains, classes, hosts, devices,
//! settings, maintenance, fsck, rebalance), thin wrappers over [`TrackerClient::request`].

use mogile_protocol::Command;
use mogile_protocol::{
    ClearCache, CreateClass, CreateDevice, CreateDomain, CreateHost, DeleteClass, DeleteDomain,
    DeleteHost, DoMonitorRound, FsckClearLog, FsckGetLog, FsckReset, FsckStart, FsckStatus,
    FsckStop, GetDevices, GetDomains, GetHosts, RebalanceReset, RebalanceSetPolicy, RebalanceStart,
    RebalanceStatus, RebalanceStop, RebalanceTest, ReplicateNow, ServerSetting, ServerSettings,
    SetServerSetting, SetState, SetWeight, Sleep, Test, UpdateClass, UpdateHost,
};

use crate::client::TrackerClient;
use crate::error::TrackerError;

/// The admin commands of a [`TrackerClient`], from [`TrackerClient::admin`].
///
/// They use the admin timeout (25 s by default). Mutating ones are never resent after a lost
/// reply ([`TrackerError::outcome_unknown`]).
#[derive(Debug, Clone, Copy)]
pub struct AdminCommands<'a> {
    client: &'a TrackerClient,
}

impl TrackerClient {
    /// The admin commands.
    pub fn admin(&self) -> AdminCommands<'_> {
        AdminCommands { client: self }
    }
}

impl AdminCommands<'_> {
    async fn request<C: Command>(&self, cmd: C) -> Result<C::Output, TrackerError> {
        self.client.request(cmd).await
    }

    command_methods! {
        "get_domains" get_domains => GetDomains;
        "create_domain" create_domain => CreateDomain;
        "delete_domain" delete_domain => DeleteDomain;
        "create_class" create_class => CreateClass;
        "update_class" update_class => UpdateClass;
        "delete_class" delete_class => DeleteClass;
        "get_hosts" get_hosts => GetHosts;
        "create_host" create_host => CreateHost;
        "update_host" update_host => UpdateHost;
        "delete_host" delete_host => DeleteHost;
        "get_devices" get_devices => GetDevices;
        "create_device" create_device => CreateDevice;
        "set_state" set_state => SetState;
        "set_weight" set_weight => SetWeight;
        "server_settings" server_settings => ServerSettings;
        "server_setting" server_setting => ServerSetting;
        "set_server_setting" set_server_setting => SetServerSetting;
        "clear_cache" clear_cache => ClearCache;
        "do_monitor_round" do_monitor_round => DoMonitorRound;
        "replicate_now" replicate_now => ReplicateNow;
        "sleep" sleep => Sleep;
        "test" test => Test;
        "fsck_start" fsck_start => FsckStart;
        "fsck_stop" fsck_stop => FsckStop;
        "fsck_reset" fsck_reset => FsckReset;
        "fsck_clearlog" fsck_clear_log => FsckClearLog;
        "fsck_getlog" fsck_get_log => FsckGetLog;
        "fsck_status" fsck_status => FsckStatus;
        "rebalance_start" rebalance_start => RebalanceStart;
        "rebalance_stop" rebalance_stop => RebalanceStop;
        "rebalance_reset" rebalance_reset => RebalanceReset;
        "rebalance_status" rebalance_status => RebalanceStatus;
        "rebalance_test" rebalance_test => RebalanceTest;
        "rebalance_set_policy" rebalance_set_policy => RebalanceSetPolicy;
    }
}
