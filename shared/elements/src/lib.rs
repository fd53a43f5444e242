//! Everything provider-specific lives here; the services stay provider-agnostic.
//!
//! - [`key`]: element keys as a typed value ([`ElementKey`]).
//! - [`answer`]: the one mapping from a provider's HTTP answer to an [`ElementError`].
//! - [`catalog`]: the elements Herald offers, their configuration entries and event support.
//! - [`hubs`]: the hubs the catalog files elements under ([`Hub`]).
//! - [`changes`]: change feeds (cursor + seen map) for providers that say who, not what.
//! - [`urls`]: each provider's base URLs, overridable with `HERALD_ELEMENT_<KEY>_{API,AUTH}_URL`.
//! - [`http`]: the outbound HTTP client every adapter uses (timeouts, no redirects).
//! - [`oauth`]: authorize URLs, token grants and revocation, per element.
//! - [`connect`]: code exchange plus learning the provider account (routing key).
//! - [`polling`]: polling configuration parsing and validation (Java date patterns).
//! - [`webhooks`]: provider webhook deliveries (challenge, reading, verification against one
//!   instance's secrets, events), dispatched per element.
//! - [`documents`]: the documents hub: one `DocumentStore` trait, the store of an instance.
//! - [`docushare`]: the DocuShare Flex adapter (documents hub, assumed API).
//! - [`view`]: the instance JSON the API answers (secrets masked).
//! - [`boxcom`]: the Box adapter (content API by id, paths resolved from the root; webhooks
//!   v1 and v2, and the v2 webhooks API).
//! - [`hubspot`]: the HubSpot adapter (signed webhook batches routed by portal).
//! - [`quickbooks`]: the QuickBooks adapter (signed webhooks in both body forms, by realm).
//! - [`dropbox`]: the Dropbox adapter (OAuth, webhooks, change feed, documents).
//! - [`error`]: the one error type adapters return, classified for callers.
//!
//! Not here: Redis, NATS, HTTP servers, or any delivery logic. Adding an element means adding a
//! module, a catalog entry and an [`ElementKey`] variant; the compiler then names every
//! dispatcher that needs an arm for it.

pub mod answer;
pub mod boxcom;
pub mod catalog;
pub mod changes;
pub mod connect;
pub mod documents;
pub mod docushare;
pub mod dropbox;
pub mod error;
pub mod http;
pub mod hubs;
pub mod hubspot;
pub mod key;
pub mod oauth;
pub mod polling;
pub mod quickbooks;
pub mod urls;
pub mod view;
pub mod webhooks;

pub use error::ElementError;
pub use hubs::Hub;
pub use key::ElementKey;
