//! Element keys as a typed value: every dispatcher matches on [`ElementKey`], so adding an
//! element is a compile error in each place that must learn about it, never a silent `_` arm.

use std::fmt;

/// One element Herald offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElementKey {
    Dropbox,
    Box,
    DocuShareFlex,
    HubSpot,
    QuickBooks,
    Sfdc,
}

impl ElementKey {
    pub const ALL: [ElementKey; 6] = [
        Self::Dropbox,
        Self::Box,
        Self::DocuShareFlex,
        Self::HubSpot,
        Self::QuickBooks,
        Self::Sfdc,
    ];

    /// The key as the API spells it (`GET /elements/{key}`, instance records, subjects).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Dropbox => "dropbox",
            Self::Box => "box",
            Self::DocuShareFlex => "docushareflex",
            Self::HubSpot => "hubspot",
            Self::QuickBooks => "quickbooks",
            Self::Sfdc => "sfdc",
        }
    }

    /// Reads a key, ignoring ASCII case; `None` for an element not in the catalog.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(raw.trim()))
    }
}

impl fmt::Display for ElementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ElementKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_ignore_case() {
        for k in ElementKey::ALL {
            assert_eq!(ElementKey::parse(k.as_str()), Some(k));
        }
        assert_eq!(ElementKey::parse("HubSpot"), Some(ElementKey::HubSpot));
        assert_eq!(ElementKey::parse("gmail"), None);
    }
}
