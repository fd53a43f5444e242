//! DocuShare Flex (documents hub; polled, see `polling`). Little of its API is public: Herald
//! assumes a REST API under `<API_URL>/api/v1` addressing objects by path, each with a handle
//! (`Collection-12` for folders, `Document-123` for files) [assumed, see PROVIDERS.md].
//!
//! - [`docs`]: the documents hub.

pub mod docs;

use crate::key::ElementKey;

pub const KEY: ElementKey = ElementKey::DocuShareFlex;
