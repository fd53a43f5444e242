//! HubSpot (crm hub): OAuth (see `oauth`), the portal id learned at connect (see `connect`), and
//! signed webhook batches ([`webhook`]).

pub mod webhook;

use crate::key::ElementKey;

pub const KEY: ElementKey = ElementKey::HubSpot;
