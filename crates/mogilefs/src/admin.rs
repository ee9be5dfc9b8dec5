//! [`Admin`]: typed cluster administration, for what a 2.73 tracker offers, and the protocol types
//! its methods take and return.

/// The typed commands and outputs the admin methods take and return.
pub use mogile_protocol::{
    ClassInfo, ClassOutput, CreateClass, CreateDevice, CreateDomain, CreateHost, DevId, DeviceInfo,
    DeviceUsage, DomainInfo, HashType, HostInfo, HostRef, UpdateClass, UpdateHost, UsageError,
};
use mogile_protocol::{
    DeleteClass, DeleteDomain, DeleteHost, GetDevices, GetDomains, GetHosts, ServerSetting,
    ServerSettings, SetServerSetting, SetState, SetWeight,
};

use futures::StreamExt;
use mogile_storage::StorageGetOptions;

use crate::client::Client;
use crate::error::{Ctx, Error, Result, from_storage};

/// The most of a `/dev<N>/usage` body read: mogstored's is under 200 bytes, and a node is not
/// trusted to send a short one.
const MAX_USAGE_BODY: usize = 64 * 1024;

/// The HTTP port a host without one in `get_hosts` listens on (the tracker's default).
const DEFAULT_HTTP_PORT: u16 = 7500;

/// Cluster administration: domains, classes, hosts, devices and server settings.
///
/// Obtained with [`Client::admin`]; it shares the client's tracker pool. Create and update
/// methods take the protocol's typed commands, which carry the optional arguments as setters
/// (`CreateClass::new("dom", "cls", 2).hashtype(Some(HashType::Md5))`).
#[derive(Debug, Clone)]
pub struct Admin {
    client: Client,
}

impl Admin {
    /// [`Client::admin`].
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Every domain with its classes (`get_domains`).
    ///
    /// # Errors
    ///
    /// A tracker failure.
    pub async fn domains(&self) -> Result<Vec<DomainInfo>> {
        self.client.call(GetDomains::new(), Ctx::default()).await
    }

    /// Creates a domain.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] or a tracker failure.
    pub async fn create_domain(&self, domain: &str) -> Result<()> {
        let ctx = domain_ctx(domain);
        self.client
            .call(CreateDomain::new(domain), ctx)
            .await
            .map(drop)
    }

    /// Deletes an empty domain.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDomain`], or a tracker failure (`domain_has_files`, `domain_has_classes`).
    pub async fn delete_domain(&self, domain: &str) -> Result<()> {
        self.client
            .call(DeleteDomain::new(domain), domain_ctx(domain))
            .await
            .map(drop)
    }

    /// The classes of a domain, from `get_domains` (2.73 has no `get_classes`).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDomain`] when the tracker does not list the domain.
    pub async fn classes(&self, domain: &str) -> Result<Vec<ClassInfo>> {
        self.domains()
            .await?
            .into_iter()
            .find(|d| d.name == domain)
            .map(|d| d.classes)
            .ok_or_else(|| Error::UnknownDomain {
                domain: domain.to_owned(),
                source: None,
            })
    }

    /// Creates a class (`mindevcount`, and optionally `replpolicy` and `hashtype`).
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`], [`Error::UnknownDomain`], or a tracker failure
    /// (`invalid_mindevcount`, `invalid_replpolicy`, `invalid_hashtype`).
    pub async fn create_class(&self, cmd: CreateClass) -> Result<ClassOutput> {
        let (domain, class) = (cmd.domain.clone(), cmd.class.clone());
        self.client.call(cmd, class_ctx(&domain, &class)).await
    }

    /// Updates a class; the tracker requires `mindevcount` even on update.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownClass`], [`Error::UnknownDomain`], or a tracker failure.
    pub async fn update_class(&self, cmd: UpdateClass) -> Result<ClassOutput> {
        let (domain, class) = (cmd.domain.clone(), cmd.class.clone());
        self.client.call(cmd, class_ctx(&domain, &class)).await
    }

    /// Deletes a class that holds no files.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownClass`], or a tracker failure (`class_has_files`, `nodel_default_class`).
    pub async fn delete_class(&self, domain: &str, class: &str) -> Result<()> {
        self.client
            .call(DeleteClass::new(domain, class), class_ctx(domain, class))
            .await
            .map(drop)
    }

    /// Every host (`get_hosts`).
    ///
    /// # Errors
    ///
    /// A tracker failure.
    pub async fn hosts(&self) -> Result<Vec<HostInfo>> {
        self.client.call(GetHosts::new(), Ctx::default()).await
    }

    /// Registers a host.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`], or a tracker failure (`no_ip`, `no_port`, `dup`).
    pub async fn create_host(&self, cmd: CreateHost) -> Result<HostRef> {
        let host = cmd.host.clone();
        self.client.call(cmd, name_ctx(&host)).await
    }

    /// Changes a host's address, ports, status or alternate address.
    ///
    /// # Errors
    ///
    /// A tracker failure (`host_not_found`, `unknown_state`).
    pub async fn update_host(&self, cmd: UpdateHost) -> Result<HostRef> {
        let host = cmd.host.clone();
        self.client.call(cmd, name_ctx(&host)).await
    }

    /// Deletes a host without devices.
    ///
    /// # Errors
    ///
    /// A tracker failure (`unknown_host`, `host_not_empty`).
    pub async fn delete_host(&self, host: &str) -> Result<()> {
        self.client
            .call(DeleteHost::new(host), name_ctx(host))
            .await
    }

    /// Every device (`get_devices`).
    ///
    /// # Errors
    ///
    /// A tracker failure.
    pub async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        self.client.call(GetDevices::new(), Ctx::default()).await
    }

    /// The space of device `devid` on `host`, from the `/dev<devid>/usage` file its storage node
    /// serves, as the tracker's monitor and `mogadm check` read it (`total`, `used`,
    /// `available`, in KiB). The request goes to the host's GET port (else its HTTP port, else
    /// 7500) through the storage client, so its timeouts and host allow-list apply; at most
    /// 64 KiB of the answer are read.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] when the node cannot be reached or does not answer `200`;
    /// [`Error::DeviceUsage`] when the answer is not a usage file.
    pub async fn device_usage(&self, host: &HostInfo, devid: DevId) -> Result<DeviceUsage> {
        let url = usage_url(host, devid);
        let storage = self.client.storage();
        let response = storage
            .get(&url, &StorageGetOptions::default())
            .await
            .map_err(from_storage)?;
        let mut body = Vec::new();
        let mut stream = response.into_stream();
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk.map_err(from_storage)?);
            if body.len() >= MAX_USAGE_BODY {
                body.truncate(MAX_USAGE_BODY);
                stream.discard();
                break;
            }
        }
        DeviceUsage::parse(&body).map_err(|source| Error::DeviceUsage { url, source })
    }

    /// Registers a device on a host (2.73 has no device update or delete: use the state).
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] (`existing_devid`), or a tracker failure (`unknown_host`).
    pub async fn create_device(&self, cmd: CreateDevice) -> Result<()> {
        let name = format!("device {}", cmd.devid.0);
        self.client.call(cmd, name_ctx(&name)).await
    }

    /// Sets a device's state (`alive`, `down`, `drain`, `readonly`, `dead`).
    ///
    /// # Errors
    ///
    /// A tracker failure (`no_device`, `host_mismatch`, `state_too_high`).
    pub async fn set_device_state(&self, host: &str, device: DevId, state: &str) -> Result<()> {
        self.client
            .call(SetState::new(host, device, state), Ctx::default())
            .await
    }

    /// Sets a device's weight.
    ///
    /// # Errors
    ///
    /// A tracker failure (`no_device`, `host_mismatch`, `bad_params`).
    pub async fn set_device_weight(&self, host: &str, device: DevId, weight: u32) -> Result<()> {
        self.client
            .call(SetWeight::new(host, device, weight), Ctx::default())
            .await
    }

    /// Every server setting, as `(key, value)` pairs.
    ///
    /// # Errors
    ///
    /// A tracker failure.
    pub async fn server_settings(&self) -> Result<Vec<(String, String)>> {
        self.client
            .call(ServerSettings::new(), Ctx::default())
            .await
    }

    /// One server setting (`None` when unset).
    ///
    /// # Errors
    ///
    /// A tracker failure.
    pub async fn server_setting(&self, key: &str) -> Result<Option<String>> {
        let (_, value) = self
            .client
            .call(ServerSetting::new(key), Ctx::default())
            .await?;
        // 2.73 answers an unknown key with an empty value.
        Ok((!value.is_empty()).then_some(value))
    }

    /// Sets a server setting.
    ///
    /// # Errors
    ///
    /// A tracker failure (`not_writable`, `invalid_format`).
    pub async fn set_server_setting(&self, key: &str, value: &str) -> Result<()> {
        self.client
            .call(SetServerSetting::new(key, value), Ctx::default())
            .await
    }
}

/// `http://IP:PORT/dev<devid>/usage`, the IP in brackets when it is an IPv6 address.
fn usage_url(host: &HostInfo, devid: DevId) -> String {
    let port = host
        .http_get_port
        .or(host.http_port)
        .unwrap_or(DEFAULT_HTTP_PORT);
    let ip = &host.hostip;
    match ip.contains(':') {
        true => format!("http://[{ip}]:{port}/dev{}/usage", devid.0),
        false => format!("http://{ip}:{port}/dev{}/usage", devid.0),
    }
}

fn domain_ctx(domain: &str) -> Ctx<'_> {
    Ctx {
        domain: Some(domain),
        target: Some(domain),
        ..Ctx::default()
    }
}

fn class_ctx<'a>(domain: &'a str, class: &'a str) -> Ctx<'a> {
    Ctx {
        domain: Some(domain),
        class: Some(class),
        ..Ctx::default()
    }
}

fn name_ctx(name: &str) -> Ctx<'_> {
    Ctx {
        target: Some(name),
        ..Ctx::default()
    }
}
