//! QuickBooks Online (finance hub): OAuth (see `oauth`), the realm from the redirect (see
//! `connect`), change-data-capture polling (see `polling::quickbooks`) and signed webhooks
//! ([`webhook`]).

pub mod webhook;

use crate::key::ElementKey;

pub const KEY: ElementKey = ElementKey::QuickBooks;
