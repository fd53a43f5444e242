//! The outbound HTTP client adapters share: bounded connect and total timeouts, no redirects,
//! and the address rule (`herald_core::address`): a request goes only to an element's
//! configured base URL or to a public address, checked before it is sent (IP literals,
//! `localhost`) and when its host is resolved (names). Adapters dereference it as a
//! `reqwest::Client` to build requests and send them through [`Http::answer`] or [`Http::send`].

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use herald_core::address::AddressRule;

use crate::answer::Answer;
use crate::urls::ElementUrls;
use crate::ElementError;

/// The provider client.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    rule: Arc<AddressRule>,
}

impl Deref for Http {
    type Target = reqwest::Client;

    fn deref(&self) -> &reqwest::Client {
        &self.client
    }
}

impl Http {
    /// A client whose calls may go to the hosts of `urls` and to public addresses. Fails (at
    /// start-up) rather than fall back to a client without these settings.
    pub fn new(timeout: Duration, urls: &ElementUrls) -> Result<Self, reqwest::Error> {
        let rule = urls.address_rule();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5).min(timeout))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect on our behalf, past the address rule.
            .no_proxy()
            .user_agent("herald/0.1")
            .dns_resolver(rule.resolver())
            .build()?;
        Ok(Self {
            client,
            rule: Arc::new(rule),
        })
    }

    /// Sends `req` if its address is allowed.
    pub async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ElementError> {
        let (client, req) = req.build_split();
        let req = req?;
        self.rule
            .check(req.url())
            .map_err(|host| ElementError::Blocked { host })?;
        Ok(client.execute(req).await?)
    }

    /// Sends `req` and reads the answer, failing on anything but a 2xx.
    pub async fn answer(&self, req: reqwest::RequestBuilder) -> Result<Answer, ElementError> {
        Answer::read(self.send(req).await?).await?.success()
    }
}
