//! Hubs: the groups the catalog files elements under (`GET /hubs`), as a typed value like
//! [`crate::ElementKey`], so an element cannot name a hub that does not exist.

use serde_json::{json, Value};

use crate::catalog::{self, ElementDef};

/// One hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hub {
    Documents,
    Crm,
    Finance,
}

impl Hub {
    pub const ALL: [Hub; 3] = [Self::Documents, Self::Crm, Self::Finance];

    /// The key as the API spells it (`GET /hubs/{key}`, an element's `hub`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Documents => "documents",
            Self::Crm => "crm",
            Self::Finance => "finance",
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            Self::Documents => "Documents",
            Self::Crm => "CRM",
            Self::Finance => "Finance",
        }
    }

    pub const fn description(self) -> &'static str {
        match self {
            Self::Documents => "Files and folders in cloud storage",
            Self::Crm => "Contacts, companies, deals and accounts",
            Self::Finance => "Accounting: customers, invoices, payments",
        }
    }

    /// Reads a key, ignoring ASCII case; `None` for a hub Herald does not have.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|h| h.as_str().eq_ignore_ascii_case(raw.trim()))
    }

    /// The hub's elements, in catalog order.
    pub fn elements(self) -> impl Iterator<Item = &'static ElementDef> {
        catalog::all().iter().filter(move |e| e.hub == self)
    }

    /// `{key, name, description, elements: [element keys]}`.
    pub fn json(self) -> Value {
        let keys: Vec<&str> = self.elements().map(|e| e.key.as_str()).collect();
        json!({
            "key": self.as_str(),
            "name": self.name(),
            "description": self.description(),
            "elements": keys,
        })
    }
}

impl serde::Serialize for Hub {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hub_has_elements_and_every_element_one_hub() {
        for h in Hub::ALL {
            assert_eq!(Hub::parse(&h.as_str().to_uppercase()), Some(h));
            assert!(h.elements().next().is_some(), "{h:?} has no elements");
        }
        let filed: usize = Hub::ALL.iter().map(|h| h.elements().count()).sum();
        assert_eq!(filed, catalog::all().len());
        assert_eq!(
            Hub::Documents.json()["elements"],
            json!(["dropbox", "box", "docushareflex"])
        );
    }
}
