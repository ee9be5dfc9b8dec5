//! Read-only getters on the model's host, device and class state, so tests (and the test cluster)
//! can ask what the tracker would decide without reaching into its internals.

use super::model::Model;
use super::spec::DeviceState;

impl Model {
    /// The state of device `devid`, or `None` when there is no such device.
    pub fn device_state(&self, devid: u64) -> Option<DeviceState> {
        self.lock().devices.get(&devid).map(|d| d.state)
    }

    /// The status of host `hostid` (`alive`, `down`, `dead` or `readonly`), or `None` when there is
    /// no such host.
    pub fn host_status(&self, hostid: u64) -> Option<String> {
        let st = self.lock();
        let host = st.hosts.get(&hostid)?;
        Some(String::from_utf8_lossy(&host.status).into_owned())
    }

    /// The `mindevcount` of `class` in `domain` as it is now (admin `create_class`/`update_class`
    /// included), or `None` when the domain or the class does not exist. Every domain has a
    /// `default` class.
    pub fn class_mindevcount(
        &self,
        domain: impl AsRef<[u8]>,
        class: impl AsRef<[u8]>,
    ) -> Option<u64> {
        let st = self.lock();
        let dmid = st.dmid(domain.as_ref())?;
        let classid = st.classid(dmid, class.as_ref())?;
        // Never negative: `create_class` and `update_class` refuse a `mindevcount` below 1.
        u64::try_from(st.class(dmid, classid)?.mindevcount).ok()
    }
}

#[cfg(test)]
mod tests {
    use crate::tracker::{DeviceSpec, DeviceState, HostSpec, Model};

    #[test]
    fn getters_follow_the_state() {
        let model = Model::builder().default_mindevcount(3).build();
        let hostid = model
            .add_host(HostSpec::new("h1", "10.0.0.1", 7500))
            .unwrap();
        model.add_device(DeviceSpec::new(1, hostid)).unwrap();
        assert_eq!(model.host_status(hostid).as_deref(), Some("alive"));
        assert_eq!(model.device_state(1), Some(DeviceState::Alive));
        model.set_host_status(hostid, "down").unwrap();
        model.set_device_state(1, DeviceState::Drain).unwrap();
        assert_eq!(model.host_status(hostid).as_deref(), Some("down"));
        assert_eq!(model.device_state(1), Some(DeviceState::Drain));
        assert_eq!(model.host_status(99), None);
        assert_eq!(model.device_state(99), None);

        model.create_domain("d").unwrap();
        model.create_class("d", "two", 2, None).unwrap();
        assert_eq!(model.class_mindevcount("d", "default"), Some(3));
        assert_eq!(model.class_mindevcount("d", "two"), Some(2));
        assert_eq!(model.class_mindevcount(b"d", b"nope"), None);
        assert_eq!(model.class_mindevcount("nope", "default"), None);
    }
}
