//! The elements catalog: one entry per provider, served by `GET /elements` and used by
//! provisioning to validate instance configuration.

use serde::Serialize;

use crate::hubs::Hub;
use crate::key::ElementKey;

/// One configuration entry of an element.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ConfigEntry {
    pub key: &'static str,
    pub name: &'static str,
    pub required: bool,
    pub default: Option<&'static str>,
    pub secret: bool,
}

/// Which ways of learning about changes an element supports.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EventsSupported {
    pub polling: bool,
    pub webhooks: bool,
}

/// An element: a provider Herald connects to.
#[derive(Debug, Clone)]
pub struct ElementDef {
    pub id: u64,
    pub key: ElementKey,
    pub name: &'static str,
    pub description: &'static str,
    pub image: &'static str,
    pub hub: Hub,
    pub auth_type: &'static str,
    pub type_oauth: bool,
    pub events: EventsSupported,
    /// `event.vendor.type` when the instance does not say.
    pub default_vendor_type: &'static str,
    pub entries: &'static [ConfigEntry],
}

const fn entry(
    key: &'static str,
    name: &'static str,
    required: bool,
    default: Option<&'static str>,
    secret: bool,
) -> ConfigEntry {
    ConfigEntry {
        key,
        name,
        required,
        default,
        secret,
    }
}

/// Entries every element with events has.
pub const EVENT_ENTRIES: &[ConfigEntry] = &[
    entry(
        "event.notification.enabled",
        "Events Enabled",
        false,
        Some("false"),
        false,
    ),
    entry(
        "event.notification.callback.url",
        "Event Notification Callback URL",
        false,
        None,
        false,
    ),
    entry(
        "event.notification.signature.key",
        "Callback Notification Signature Key",
        false,
        None,
        true,
    ),
    entry(
        "event.notification.rate.limit",
        "Most notifications per second to the callback (unlimited if unset)",
        false,
        None,
        false,
    ),
    entry(
        "event.notification.ordered",
        "Deliver notifications one at a time, in order",
        false,
        None,
        false,
    ),
];

/// OAuth2 client entries every OAuth element has.
const OAUTH: [ConfigEntry; 3] = [
    entry(
        "oauth.api.key",
        "OAuth API Key (client id)",
        true,
        None,
        false,
    ),
    entry(
        "oauth.api.secret",
        "OAuth API Secret (client secret)",
        true,
        None,
        true,
    ),
    entry(
        "oauth.callback.url",
        "OAuth Callback URL",
        true,
        None,
        false,
    ),
];

/// Polling entries of elements that poll.
pub const POLLING_ENTRIES: &[ConfigEntry] = &[
    entry(
        "event.poller.refresh_interval",
        "Event poller refresh interval (mins)",
        false,
        Some("15"),
        false,
    ),
    entry(
        "event.poller.configuration",
        "Configure Polling",
        false,
        None,
        false,
    ),
    entry(
        "event.poller.urls",
        "Poller URLs (legacy)",
        false,
        None,
        false,
    ),
];

const DROPBOX_ENTRIES: &[ConfigEntry] = &[
    OAUTH[0],
    OAUTH[1],
    OAUTH[2],
    entry(
        "event.vendor.type",
        "Event Type",
        false,
        Some("webhook"),
        false,
    ),
    entry(
        "document.tagging",
        "Document Tagging",
        false,
        Some("false"),
        false,
    ),
];

const BOX_ENTRIES: &[ConfigEntry] = &[
    OAUTH[0],
    OAUTH[1],
    OAUTH[2],
    entry(
        "event.vendor.type",
        "Event Type",
        false,
        Some("webhook"),
        false,
    ),
    entry(
        "events.list.ids",
        "Item ids to watch (webhooks v1)",
        false,
        None,
        false,
    ),
    entry(
        "box.webhook.signature.primary.key",
        "Webhook primary signature key",
        false,
        None,
        true,
    ),
    entry(
        "box.webhook.signature.secondary.key",
        "Webhook secondary signature key",
        false,
        None,
        true,
    ),
];

const DOCUSHARE_ENTRIES: &[ConfigEntry] = &[
    OAUTH[0],
    OAUTH[1],
    OAUTH[2],
    entry(
        "docushare.domain",
        "DocuShare Flex domain (<domain>.docushareflex.com)",
        true,
        None,
        false,
    ),
    entry(
        "event.vendor.type",
        "Event Type",
        false,
        Some("polling"),
        false,
    ),
];

const HUBSPOT_ENTRIES: &[ConfigEntry] = &[
    OAUTH[0],
    OAUTH[1],
    OAUTH[2],
    entry("oauth.scope", "OAuth scopes", false, None, false),
    entry(
        "event.vendor.type",
        "Event Type",
        false,
        Some("webhook"),
        false,
    ),
];

const QUICKBOOKS_ENTRIES: &[ConfigEntry] = &[
    OAUTH[0],
    OAUTH[1],
    OAUTH[2],
    entry(
        "oauth.scope",
        "OAuth scopes",
        false,
        Some("com.intuit.quickbooks.accounting"),
        false,
    ),
    entry(
        "quickbooks.webhook.verifier.token",
        "Webhooks verifier token",
        false,
        None,
        true,
    ),
    entry(
        "event.vendor.type",
        "Event Type",
        false,
        Some("webhook"),
        false,
    ),
];

const SFDC_ENTRIES: &[ConfigEntry] = &[
    OAUTH[0],
    OAUTH[1],
    OAUTH[2],
    entry("oauth.scope", "OAuth scopes", false, None, false),
    entry(
        "event.vendor.type",
        "Event Type",
        false,
        Some("polling"),
        false,
    ),
];

/// In [`ElementKey::ALL`] order, so a key indexes its own entry (checked by a test).
static CATALOG: [ElementDef; ElementKey::ALL.len()] = [
    ElementDef {
        id: 22,
        key: ElementKey::Dropbox,
        name: "Dropbox",
        description: "Add a Dropbox Instance to connect your existing Dropbox account to the Documents Hub, allowing you to manage files and folders. You will need your Dropbox account information to add an instance.",
        image: "elements/provider_dropbox.png",
        hub: Hub::Documents,
        auth_type: "oauth2",
        type_oauth: true,
        events: EventsSupported { polling: false, webhooks: true },
        default_vendor_type: "webhook",
        entries: DROPBOX_ENTRIES,
    },
    ElementDef {
        id: 20,
        key: ElementKey::Box,
        name: "Box",
        description: "Add a Box Instance to connect your existing Box account to the Documents Hub, allowing you to manage files and folders.",
        image: "elements/provider_box.png",
        hub: Hub::Documents,
        auth_type: "oauth2",
        type_oauth: true,
        events: EventsSupported { polling: false, webhooks: true },
        default_vendor_type: "webhook",
        entries: BOX_ENTRIES,
    },
    ElementDef {
        id: 3447,
        key: ElementKey::DocuShareFlex,
        name: "DocuShare Flex",
        description: "Add a DocuShare Flex Instance to connect your DocuShare Flex site to the Documents Hub.",
        image: "elements/provider_docushareflex.png",
        hub: Hub::Documents,
        auth_type: "oauth2",
        type_oauth: true,
        events: EventsSupported { polling: true, webhooks: false },
        default_vendor_type: "polling",
        entries: DOCUSHARE_ENTRIES,
    },
    ElementDef {
        id: 27,
        key: ElementKey::HubSpot,
        name: "HubSpot CRM",
        description: "Add a HubSpot Instance to connect your existing HubSpot account to the CRM Hub.",
        image: "elements/provider_hubspot.png",
        hub: Hub::Crm,
        auth_type: "oauth2",
        type_oauth: true,
        events: EventsSupported { polling: false, webhooks: true },
        default_vendor_type: "webhook",
        entries: HUBSPOT_ENTRIES,
    },
    ElementDef {
        id: 29,
        key: ElementKey::QuickBooks,
        name: "QuickBooks Online",
        description: "Add a QuickBooks Online Instance to connect your QuickBooks company to the Finance Hub.",
        image: "elements/provider_quickbooks.png",
        hub: Hub::Finance,
        auth_type: "oauth2",
        type_oauth: true,
        events: EventsSupported { polling: true, webhooks: true },
        default_vendor_type: "webhook",
        entries: QUICKBOOKS_ENTRIES,
    },
    ElementDef {
        id: 15,
        key: ElementKey::Sfdc,
        name: "Salesforce Sales Cloud",
        description: "Add a Salesforce Instance to connect your existing Salesforce account to the CRM Hub.",
        image: "elements/provider_sfdc.png",
        hub: Hub::Crm,
        auth_type: "oauth2",
        type_oauth: true,
        events: EventsSupported { polling: true, webhooks: false },
        default_vendor_type: "polling",
        entries: SFDC_ENTRIES,
    },
];

/// Every element.
pub fn all() -> &'static [ElementDef] {
    &CATALOG
}

/// One element by key (case-insensitive).
pub fn find(key: &str) -> Option<&'static ElementDef> {
    ElementKey::parse(key).map(get)
}

/// The entry of a typed key (every key has one).
pub fn get(key: ElementKey) -> &'static ElementDef {
    &CATALOG[key as usize]
}

impl ElementDef {
    /// The element's own entries, the event entries, and the polling entries if it polls.
    pub fn all_entries(&self) -> impl Iterator<Item = &'static ConfigEntry> {
        let polling: &'static [ConfigEntry] = if self.events.polling {
            POLLING_ENTRIES
        } else {
            &[]
        };
        self.entries
            .iter()
            .chain(EVENT_ENTRIES.iter())
            .chain(polling.iter())
    }

    pub fn is_secret(&self, key: &str) -> bool {
        self.all_entries().any(|e| e.key == key && e.secret)
    }

    /// The `element` object of an instance, as the original platform writes it.
    pub fn summary_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "key": self.key,
            "description": self.description,
            "image": self.image,
            "active": true,
            "deleted": false,
            "typeOauth": self.type_oauth,
            "trialAccount": false,
            "transformationsEnabled": false,
            "authentication": {"type": self.auth_type},
            "hub": self.hub,
        })
    }

    /// The catalog listing entry.
    pub fn catalog_json(&self) -> serde_json::Value {
        let mut v = self.summary_json();
        v["eventsSupported"] = serde_json::json!(self.events);
        v
    }

    /// The single-element view, with configuration entries.
    pub fn detail_json(&self) -> serde_json::Value {
        let mut v = self.catalog_json();
        v["configuration"] = serde_json::json!(self.all_entries().collect::<Vec<_>>());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_indexes_its_own_entry() {
        for k in ElementKey::ALL {
            assert_eq!(get(k).key, k);
            assert_eq!(find(k.as_str()).map(|d| d.key), Some(k));
        }
        assert!(find("gmail").is_none());
    }
}
