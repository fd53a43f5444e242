//! The DNS resolver of the delivery client: only public addresses are returned (unless private
//! callbacks are allowed), so a callback host that resolves to an internal address at delivery
//! time — DNS rebinding — is never connected to.

use std::net::SocketAddr;

use herald_core::callback_url::connectable;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub struct PublicOnly {
    pub allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let ok: Vec<SocketAddr> = connectable(found, allow);
            if ok.is_empty() {
                return Err(format!("{} resolves to no public address", name.as_str()).into());
            }
            Ok(Box::new(ok.into_iter()) as Addrs)
        })
    }
}
