//! The OpenAPI 3.0 description of the API, built from [`crate::routes::operations`] (the same
//! values the router is built from) plus the schemas below.

use serde_json::{json, Map, Value};

use crate::routes::{Operation, BASE};

/// The delivery statuses of a notification, as the server names them.
pub fn event_statuses() -> Value {
    value::choice(&herald_core::model::EventStatus::ALL.map(|s| s.as_str()))
}

/// Every webhook trigger Box documents: Box refuses any other (400).
const BOX_TRIGGERS: &str =
    "FILE.UPLOADED FILE.PREVIEWED FILE.DOWNLOADED FILE.TRASHED FILE.DELETED \
    FILE.RESTORED FILE.COPIED FILE.MOVED FILE.LOCKED FILE.UNLOCKED FILE.RENAMED FOLDER.CREATED \
    FOLDER.RENAMED FOLDER.DOWNLOADED FOLDER.RESTORED FOLDER.DELETED FOLDER.COPIED FOLDER.MOVED \
    FOLDER.TRASHED COMMENT.CREATED COMMENT.UPDATED COMMENT.DELETED COLLABORATION.CREATED \
    COLLABORATION.ACCEPTED COLLABORATION.REJECTED COLLABORATION.REMOVED COLLABORATION.UPDATED \
    SHARED_LINK.CREATED SHARED_LINK.UPDATED SHARED_LINK.DELETED METADATA_INSTANCE.CREATED \
    METADATA_INSTANCE.UPDATED METADATA_INSTANCE.DELETED TASK_ASSIGNMENT.CREATED \
    TASK_ASSIGNMENT.UPDATED SIGN_REQUEST.COMPLETED SIGN_REQUEST.DECLINED SIGN_REQUEST.EXPIRED \
    SIGN_REQUEST.SIGNER_EMAIL_BOUNCED WEBHOOK.DELETED";

/// Who may call an operation.
#[derive(Debug, Clone, Copy)]
pub enum Auth {
    None,
    /// `User <secret>, Organization <secret>`.
    Platform,
    /// `User <secret>, Element <instance token>`.
    Instance,
    /// `Bearer <HERALD_ADMIN_TOKEN>`.
    Admin,
}

/// A query or path parameter, with the schema of its value.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: &'static str,
    pub in_path: bool,
    pub required: bool,
    /// Sent empty, it counts as left out (`allowEmptyValue`).
    pub empty_is_absent: bool,
    pub schema: Value,
}

impl Param {
    /// A query parameter the call needs.
    pub fn query(name: &'static str, schema: Value) -> Self {
        Self {
            name,
            in_path: false,
            required: true,
            empty_is_absent: false,
            schema,
        }
    }
    /// A query parameter the call may leave out.
    pub fn optional(name: &'static str, schema: Value) -> Self {
        Self {
            required: false,
            ..Self::query(name, schema)
        }
    }
    /// A filter: left out or sent empty, it does not apply.
    pub fn filter(name: &'static str, schema: Value) -> Self {
        Self {
            empty_is_absent: true,
            ..Self::optional(name, schema)
        }
    }
    /// A path parameter other than the default ones (see [`path_params`]).
    pub fn path(name: &'static str, schema: Value) -> Self {
        Self {
            in_path: true,
            ..Self::query(name, schema)
        }
    }

    fn json(&self) -> Value {
        let place = if self.in_path { "path" } else { "query" };
        let mut p = json!({"name": self.name, "in": place, "required": self.required, "schema": self.schema});
        if self.empty_is_absent {
            p["allowEmptyValue"] = json!(true);
        }
        p
    }
}

/// Schemas of values, each named for what the server checks. Where the server trims a value
/// first, the schema asks for it untrimmed.
pub mod value {
    use serde_json::{json, Value};

    /// A hub path: from `/`, with no `.` or `..` segment.
    const HUB_PATH: &str = r"^/(?!(?:[^/]*/)*\.\.?(?:/|\s*$))";

    pub fn text() -> Value {
        json!({"type": "string"})
    }
    /// Something besides white space.
    pub fn non_blank() -> Value {
        json!({"type": "string", "pattern": r"\S"})
    }
    /// A numeric id. Ids start at 1; any other value is answered 404, as an unknown id is.
    pub fn id() -> Value {
        json!({"type": "integer", "format": "int64", "minimum": 1})
    }
    /// A whole number in `min..=max`.
    pub fn integer(min: u64, max: u64) -> Value {
        json!({"type": "integer", "minimum": min, "maximum": max})
    }
    /// An RFC 3339 date and time.
    pub fn date_time() -> Value {
        json!({"type": "string", "format": "date-time"})
    }
    /// One of these strings, exactly.
    pub fn choice(values: &[&str]) -> Value {
        json!({"type": "string", "enum": values})
    }
    /// A hub path, `/` (the root) included.
    pub fn hub_path() -> Value {
        json!({"type": "string", "pattern": HUB_PATH})
    }
    /// A hub path naming something below the root (a character besides `/`).
    pub fn hub_path_below_root() -> Value {
        json!({"type": "string", "pattern": format!(r"{HUB_PATH}[\s\S]*[^/\s]")})
    }
}

/// Body schemas, each defined once in [`schemas`].
#[derive(Debug, Clone, Copy)]
pub enum Schema {
    Error,
    Element,
    ElementList,
    Keys,
    ConfigEntries,
    Hub,
    HubList,
    OAuthUrl,
    NewOrganization,
    Organization,
    NewUser,
    User,
    InstanceCreate,
    InstanceReplace,
    InstancePatch,
    Instance,
    InstanceList,
    Deleted,
    Event,
    EventList,
    EventDetail,
    Folder,
    FolderList,
    Copy,
    Upload,
    FileBytes,
    Ignored,
    Deleted2,
    WebhookCreate,
    Webhook,
    WebhookList,
    PollQueued,
    Queued,
    Replay,
    Replayed,
}

impl Schema {
    fn name(self) -> &'static str {
        match self {
            Self::Error => "Error",
            Self::Element => "Element",
            Self::ElementList => "ElementList",
            Self::Keys => "Keys",
            Self::ConfigEntries => "ConfigEntries",
            Self::Hub => "Hub",
            Self::HubList => "HubList",
            Self::OAuthUrl => "OAuthUrl",
            Self::NewOrganization => "NewOrganization",
            Self::Organization => "Organization",
            Self::NewUser => "NewUser",
            Self::User => "User",
            Self::InstanceCreate => "InstanceCreate",
            Self::InstanceReplace => "InstanceReplace",
            Self::InstancePatch => "InstancePatch",
            Self::Instance => "Instance",
            Self::InstanceList => "InstanceList",
            Self::Deleted => "Deleted",
            Self::Event => "Event",
            Self::EventList => "EventList",
            Self::EventDetail => "EventDetail",
            Self::Folder => "Folder",
            Self::FolderList => "FolderList",
            Self::Copy => "Copy",
            Self::Upload => "Upload",
            Self::FileBytes => "FileBytes",
            Self::Ignored => "Ignored",
            Self::Deleted2 => "DeletedPath",
            Self::WebhookCreate => "WebhookCreate",
            Self::Webhook => "Webhook",
            Self::WebhookList => "WebhookList",
            Self::PollQueued => "PollQueued",
            Self::Queued => "Queued",
            Self::Replay => "Replay",
            Self::Replayed => "Replayed",
        }
    }

    /// The media type bodies of this schema travel as.
    fn media(self) -> &'static str {
        match self {
            Self::Upload => "multipart/form-data",
            // The file's own type (text/plain, image/png, …), whatever it is.
            Self::FileBytes => "*/*",
            _ => "application/json",
        }
    }

    fn reference(self) -> Value {
        json!({"$ref": format!("#/components/schemas/{}", self.name())})
    }
}

/// What an operation is, for the document.
#[derive(Debug, Clone)]
pub struct Doc {
    pub id: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    pub params: Vec<Param>,
    pub body: Option<Schema>,
    pub success: (u16, Option<Schema>),
    pub errors: Vec<u16>,
}

impl Doc {
    pub fn new(id: &'static str, summary: &'static str, auth: Auth) -> Self {
        Self {
            id,
            summary,
            auth,
            params: Vec::new(),
            body: None,
            success: (200, None),
            errors: Vec::new(),
        }
    }
    pub fn ok(mut self, s: Schema) -> Self {
        self.success = (200, Some(s));
        self
    }
    pub fn accepted(mut self, s: Schema) -> Self {
        self.success = (202, Some(s));
        self
    }
    pub fn created(mut self, s: Schema) -> Self {
        self.success = (201, Some(s));
        self
    }
    pub fn body(mut self, s: Schema) -> Self {
        self.body = Some(s);
        self
    }
    pub fn status(mut self, code: u16) -> Self {
        self.errors.push(code);
        self
    }
    /// What any call that reaches a provider may answer besides success: the caller's mistake
    /// (400), the provider's refusals (404, 409), and the provider or Herald unavailable.
    pub fn provider_errors(mut self) -> Self {
        self.errors.extend([400, 404, 409, 502, 503, 504]);
        self
    }
    pub fn params(mut self, p: &[Param]) -> Self {
        self.params.extend_from_slice(p);
        self
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        400 => "Bad request",
        401 => "Missing or wrong credentials",
        404 => "Not found",
        405 => "Method not allowed",
        408 => "Request timeout",
        409 => "Conflict",
        413 => "Body too large",
        429 => "Too many requests (see Retry-After)",
        500 => "Internal error",
        502 => "Provider error",
        503 => "Unavailable, try again",
        504 => "Provider timeout",
        _ => "Response",
    }
}

/// The path's parameters, in order: as the operation declares them, else `{key}` an element or
/// hub key (an unknown one is answered 404) and any other a numeric id.
fn path_params(path: &'static str, declared: &[Param]) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(
            |name| match declared.iter().find(|p| p.in_path && p.name == name) {
                Some(p) => p.json(),
                None if name == "key" => Param::path("key", value::text()).json(),
                None => Param::path(name, value::id()).json(),
            },
        )
        .collect()
}

/// The whole document.
pub fn document(ops: &[Operation]) -> Value {
    let mut paths = Map::new();
    for o in ops {
        let d = &o.doc;
        let mut responses = Map::new();
        let mut success = json!({"description": "Success"});
        if let Some(s) = d.success.1 {
            success["content"] = json!({s.media(): {"schema": s.reference()}});
        }
        responses.insert(d.success.0.to_string(), success);
        let mut errors = d.errors.clone();
        errors.extend([408, 413, 429, 500]);
        if !matches!(d.auth, Auth::None) {
            errors.push(401);
        }
        errors.sort_unstable();
        errors.dedup();
        for code in errors {
            responses.insert(
                code.to_string(),
                json!({"description": reason(code), "content": {"application/json": {"schema": Schema::Error.reference()}}}),
            );
        }
        let mut parameters = path_params(o.path, &d.params);
        parameters.extend(d.params.iter().filter(|p| !p.in_path).map(Param::json));
        let mut operation = json!({
            "operationId": d.id,
            "summary": d.summary,
            "parameters": parameters,
            "responses": responses,
        });
        match d.auth {
            Auth::None => operation["security"] = json!([]),
            Auth::Platform => operation["security"] = json!([{"platform": []}]),
            Auth::Instance => operation["security"] = json!([{"instance": []}]),
            Auth::Admin => operation["security"] = json!([{"admin": []}]),
        }
        if let Some(b) = d.body {
            // A body the server ignores may be left out.
            let required = !matches!(b, Schema::Ignored);
            operation["requestBody"] =
                json!({"required": required, "content": {b.media(): {"schema": b.reference()}}});
        }
        let entry = paths
            .entry(format!("{BASE}{}", o.path))
            .or_insert_with(|| json!({}));
        entry[o.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Herald API", "version": env!("CARGO_PKG_VERSION"),
            "description": "Cloud Elements compatible events framework: elements, instances, events, hubs."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "platform": {"type": "apiKey", "in": "header", "name": "Authorization",
                    "description": "User <userSecret>, Organization <orgSecret>"},
                "instance": {"type": "apiKey", "in": "header", "name": "Authorization",
                    "description": "User <userSecret>, Element <instanceToken>"},
                "admin": {"type": "http", "scheme": "bearer"}
            },
            "schemas": schemas(),
        }
    })
}

fn schemas() -> Value {
    let string = json!({"type": "string"});
    let nullable_string = json!({"type": "string", "nullable": true});
    let config_entry = json!({"type": "object", "required": ["key", "name", "required", "secret"], "properties": {
        "key": string, "name": string, "required": {"type": "boolean"}, "default": nullable_string, "secret": {"type": "boolean"}}});
    let element = json!({"type": "object", "required": ["id", "key", "name", "hub"], "properties": {
        "id": {"type": "integer"}, "key": string, "name": string, "description": string, "image": string,
        "hub": string, "active": {"type": "boolean"}, "deleted": {"type": "boolean"}, "typeOauth": {"type": "boolean"},
        "trialAccount": {"type": "boolean"}, "transformationsEnabled": {"type": "boolean"},
        "authentication": {"type": "object", "properties": {"type": string}},
        "eventsSupported": {"type": "object", "properties": {"polling": {"type": "boolean"}, "webhooks": {"type": "boolean"}}},
        "configuration": {"type": "array", "items": config_entry}
    }});
    let instance = json!({"type": "object", "required": ["id", "name", "element", "valid", "disabled", "eventsEnabled"], "properties": {
        "id": {"type": "integer"}, "name": string, "token": string, "element": {"$ref": "#/components/schemas/Element"},
        "provisionInteractions": {"type": "array", "items": {}}, "valid": {"type": "boolean"}, "disabled": {"type": "boolean"},
        "maxCacheSize": {"type": "integer"}, "cacheTimeToLive": {"type": "integer"}, "eventsEnabled": {"type": "boolean"},
        "cachingEnabled": {"type": "boolean"}, "tags": {"type": "array", "items": string}, "createdDate": string,
        "invalidReason": string, "configuration": {"type": "object", "additionalProperties": true},
        "polling": {"type": "object", "properties": {"lastPoll": nullable_string, "lastSuccess": nullable_string,
            "lastError": nullable_string, "consecutiveFailures": {"type": "integer"}, "nextPoll": nullable_string}}
    }});
    let attempt = json!({"type": "object", "properties": {"date": string, "statusCode": {"type": "integer", "nullable": true},
        "durationMs": {"type": "integer"}, "error": nullable_string}});
    let event_props = json!({
        "id": {"type": "integer"}, "notificationId": {"type": "integer"}, "instanceId": {"type": "integer"}, "elementKey": string,
        "eventDate": string, "status": event_statuses(),
        "attempts": {"type": "integer"}, "lastAttempt": {"allOf": [attempt], "nullable": true},
        "nextAttempt": nullable_string, "failureReason": nullable_string
    });
    let mut detail_props = event_props.clone();
    detail_props["providerData"] = json!({});
    detail_props["notifiedData"] = json!({});
    detail_props["deliveryAttempts"] = json!({"type": "array", "items": attempt});
    let mut all = json!({
        "Error": {"type": "object", "required": ["requestId", "message", "code"], "properties": {
            "requestId": string, "message": string, "code": string}},
        "Element": element,
        "ElementList": {"type": "array", "items": {"$ref": "#/components/schemas/Element"}},
        "OAuthUrl": {"type": "object", "required": ["oauthUrl", "element"], "properties": {"oauthUrl": string, "element": string}},
        "Organization": {"type": "object", "required": ["id", "name", "secret"], "properties": {
            "id": {"type": "integer"}, "name": string, "secret": string}},
        "User": {"type": "object", "required": ["id", "email", "secret"], "properties": {
            "id": {"type": "integer"}, "email": string, "secret": string, "organizationId": {"type": "integer"}}},
        "Instance": instance,
        "InstanceList": {"type": "array", "items": {"$ref": "#/components/schemas/Instance"}},
        "Deleted": {"type": "object", "properties": {"id": {}, "deleted": {"type": "boolean"}}},
        "Event": {"type": "object", "required": ["id", "status", "instanceId", "attempts"], "properties": event_props},
        "EventList": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
        "EventDetail": {"type": "object", "required": ["id", "status", "instanceId", "attempts"], "properties": detail_props},
        "Queued": {"type": "object", "required": ["eventId", "status"], "properties": {
            "eventId": {"type": "integer"}, "status": string}},
        "Replayed": {"type": "object", "required": ["replayed"], "properties": {"replayed": {"type": "integer"}}},
        "PollQueued": {"type": "object", "required": ["instanceId", "status"], "properties": {
            "instanceId": {"type": "integer"}, "status": string}},
        "FolderList": {"type": "array", "items": {"$ref": "#/components/schemas/Folder"}},
        "Upload": {"type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}},
        "Ignored": {"description": "Any JSON (the seed sends the folder's), checked to be JSON and otherwise ignored"},
        "FileBytes": {"type": "string", "format": "binary"},
        "DeletedPath": {"type": "object", "properties": {"path": string, "deleted": {"type": "boolean"}}},
        "Webhook": {"type": "object", "additionalProperties": true, "properties": {
            "id": string, "type": string, "address": string, "target": {"type": "object"},
            "triggers": {"type": "array", "items": string}}},
        "WebhookList": {"type": "array", "items": {"$ref": "#/components/schemas/Webhook"}},
        "Folder": {"type": "object", "additionalProperties": true, "properties": {
            "id": {}, "path": string, "name": string, "directory": {"type": "boolean"}, "size": {"type": "integer"},
            "tags": {"type": "array", "items": string}, "createdDate": {}}},
    });
    // The catalog's lists, apart (one json! of everything exceeds the macro recursion limit).
    all["Keys"] = json!({"type": "array", "items": string});
    all["ConfigEntries"] = json!({"type": "array", "items": config_entry});
    all["Hub"] = json!({"type": "object", "required": ["key", "name", "description", "elements"], "properties": {
        "key": string, "name": string, "description": string, "elements": {"type": "array", "items": string}}});
    all["HubList"] = json!({"type": "array", "items": {"$ref": "#/components/schemas/Hub"}});
    request_schemas(&mut all);
    all
}

/// The request bodies, as exact as the server's checks (where it trims a value, the schema asks
/// for it untrimmed).
fn request_schemas(all: &mut Value) {
    let string = value::text();
    let tags = json!({"type": "array", "items": string, "nullable": true});
    let name = json!({"description": "A string; a blank one, or anything else, leaves the name as it is (the element's name on create)"});
    // Configuration entries are text, an object or null (a number or a boolean is read as its
    // text); required ones are neither null nor blank.
    let entries = json!({"type": "object", "additionalProperties": {"not": {"type": "array"}}});
    let required_entry = json!({"anyOf": [value::non_blank(), {"type": "number"}, {"type": "boolean"}, {"type": "object"}]});
    let configuration = |required: &[&str]| {
        let mut c = entries.clone();
        c["required"] = json!(required);
        c["properties"] = required
            .iter()
            .map(|k| (k.to_string(), required_entry.clone()))
            .collect();
        c
    };
    // Every element is an OAuth client (DocuShare Flex needs docushare.domain too).
    let oauth = ["oauth.api.key", "oauth.api.secret", "oauth.callback.url"];
    let mut patch = entries.clone();
    patch["nullable"] = json!(true);

    all["NewOrganization"] =
        json!({"type": "object", "required": ["name"], "properties": {"name": value::non_blank()}});
    all["NewUser"] = json!({"type": "object", "required": ["email"], "properties": {
        "email": {"type": "string", "pattern": "@"}, "firstName": string, "lastName": string}});
    all["InstanceCreate"] = json!({"type": "object", "required": ["element", "configuration"], "additionalProperties": true,
        "description": "Dotted keys at the top level are read as configuration entries too (the older form)",
        "properties": {
            "element": {"type": "object", "required": ["key"], "properties": {"key": value::non_blank()}},
            "providerData": {"type": "object", "nullable": true, "additionalProperties": true,
                "description": "code: the OAuth code (optional for DocuShare Flex); QuickBooks needs realmId too",
                "properties": {"code": {"type": "string", "nullable": true}}},
            "configuration": configuration(&oauth), "tags": tags, "name": name}});
    all["InstanceReplace"] = json!({"type": "object", "required": ["configuration"], "additionalProperties": true,
        "description": "Secrets left out keep their values; an element, if given, must be the instance's",
        "properties": {"name": name, "tags": tags, "configuration": configuration(&[oauth[0], oauth[2]])}});
    all["InstancePatch"] = json!({"type": "object", "additionalProperties": true, "properties": {
        "name": name, "tags": tags, "configuration": patch}});
    all["Replay"] = json!({"type": "object", "required": ["from"], "properties": {
        "from": value::date_time(), "to": {"type": "string", "format": "date-time", "nullable": true}}});
    all["Copy"] = json!({"type": "object", "required": ["path"], "properties": {"path": value::hub_path_below_root()}});
    let triggers: Vec<&str> = BOX_TRIGGERS.split_whitespace().collect();
    all["WebhookCreate"] = json!({"type": "object", "required": ["target", "triggers"], "properties": {
        "target": {"type": "object", "required": ["id", "type"], "properties": {
            "id": {"anyOf": [value::non_blank(), {"type": "number"}]}, "type": value::choice(&["file", "folder"])}},
        "triggers": {"type": "array", "minItems": 1, "items": value::choice(&triggers)}}});
}
