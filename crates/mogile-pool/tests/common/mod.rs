//! What several test binaries share: a connector whose connections are always there.

use std::convert::Infallible;

use mogile_pool::{Connector, Endpoint};

/// Connects at once, never fails, and its connections are always open and answer every probe.
pub(crate) struct Toy;

impl Connector for Toy {
    type Connection = ();
    type Error = Infallible;

    async fn connect(&self, _: &Endpoint) -> Result<(), Infallible> {
        Ok(())
    }

    fn is_open(&self, _: &()) -> bool {
        true
    }

    async fn probe(&self, _: &mut ()) -> Result<(), Infallible> {
        Ok(())
    }
}
