//! The `admin` subcommands (the `mogadm` part of the tool).

use clap::{Args, Subcommand};

/// The `admin` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Admin {
    /// Domains
    Domain {
        #[command(subcommand)]
        command: DomainCmd,
    },
    /// Classes
    Class {
        #[command(subcommand)]
        command: ClassCmd,
    },
    /// Hosts
    Host {
        #[command(subcommand)]
        command: HostCmd,
    },
    /// Devices
    Device {
        #[command(subcommand)]
        command: DeviceCmd,
    },
    /// Server settings
    Settings {
        #[command(subcommand)]
        command: SettingsCmd,
    },
    /// Check the cluster, as `mogadm check` does: trackers, hosts, devices and their space,
    /// classes (exit status 1 when something needs a person now)
    Check {
        /// A device more used than this (percent of its size) is a problem
        #[arg(
            long,
            value_name = "PERCENT",
            default_value = "95",
            value_parser = clap::value_parser!(u8).range(0..=100)
        )]
        max_used: u8,
    },
}

/// `admin domain`.
#[derive(Debug, Subcommand)]
pub(crate) enum DomainCmd {
    /// List domains
    List,
    /// Create a domain
    Create {
        /// Domain name
        name: String,
    },
    /// Delete an empty domain
    Delete {
        /// Domain name
        name: String,
    },
}

/// `admin class`.
#[derive(Debug, Subcommand)]
pub(crate) enum ClassCmd {
    /// List classes (of every domain, or of DOMAIN)
    List {
        /// Only this domain's classes
        // Not `domain`: that id is the global `--domain`, and clap would merge the two.
        #[arg(value_name = "DOMAIN")]
        domain_name: Option<String>,
    },
    /// Create a class
    Create {
        /// Domain of the class
        #[arg(value_name = "DOMAIN")]
        domain_name: String,
        /// Class name
        class: String,
        #[command(flatten)]
        props: ClassProps,
    },
    /// Change a class (an omitted --mindevcount keeps the current value)
    Update {
        /// Domain of the class
        #[arg(value_name = "DOMAIN")]
        domain_name: String,
        /// Class name
        class: String,
        #[command(flatten)]
        props: ClassProps,
    },
    /// Delete a class that holds no files
    Delete {
        /// Domain of the class
        #[arg(value_name = "DOMAIN")]
        domain_name: String,
        /// Class name
        class: String,
    },
}

/// Class properties of `class create` and `class update`.
#[derive(Debug, Args)]
pub(crate) struct ClassProps {
    /// Minimum number of replicas (required by `create`)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) mindevcount: Option<u32>,
    /// Checksum kept for the class's files (MD5, SHA-1 or NONE)
    #[arg(long, value_name = "HASH")]
    pub(crate) hashtype: Option<String>,
    /// Replication policy, e.g. `MultipleHosts()`
    #[arg(long, value_name = "P")]
    pub(crate) replpolicy: Option<String>,
}

/// `admin host`.
#[derive(Debug, Subcommand)]
pub(crate) enum HostCmd {
    /// List hosts
    List,
    /// Register a host
    Add {
        /// Host name
        name: String,
        #[command(flatten)]
        props: HostProps,
    },
    /// Change a host
    Modify {
        /// Host name
        name: String,
        #[command(flatten)]
        props: HostProps,
    },
    /// Remove a host that has no devices
    Delete {
        /// Host name
        name: String,
    },
}

/// Host properties of `host add` and `host modify`.
#[derive(Debug, Args)]
pub(crate) struct HostProps {
    /// IP address (required by `add`)
    #[arg(long, value_name = "IP")]
    pub(crate) ip: Option<String>,
    /// HTTP port (required by `add`)
    #[arg(long, value_name = "PORT")]
    pub(crate) port: Option<u16>,
    /// Separate HTTP port for reads
    #[arg(long, value_name = "PORT")]
    pub(crate) getport: Option<u16>,
    /// State: alive, down, dead or readonly
    #[arg(long, value_name = "STATE")]
    pub(crate) status: Option<String>,
    /// Alternate IP for zone rules
    #[arg(long, value_name = "IP")]
    pub(crate) altip: Option<String>,
    /// Netmask selecting clients that use the alternate IP
    #[arg(long, value_name = "MASK")]
    pub(crate) altmask: Option<String>,
}

/// `admin device`.
#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCmd {
    /// List devices
    List,
    /// Register device DEVID on HOST
    Add {
        /// Host name
        host: String,
        /// Device id
        devid: u32,
        /// Initial state (default alive)
        #[arg(long, value_name = "STATE")]
        state: Option<String>,
    },
    /// Set a device's state: alive, down, dead, readonly or drain
    SetState {
        /// Device id
        devid: u32,
        /// New state
        state: String,
        /// Host of the device (default: looked up from the device)
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
    },
    /// Set a device's weight
    SetWeight {
        /// Device id
        devid: u32,
        /// New weight
        weight: u32,
        /// Host of the device (default: looked up from the device)
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
    },
}

/// `admin settings`.
#[derive(Debug, Subcommand)]
pub(crate) enum SettingsCmd {
    /// List server settings
    List,
    /// Set a server setting
    Set {
        /// Setting name
        key: String,
        /// New value
        value: String,
    },
}
