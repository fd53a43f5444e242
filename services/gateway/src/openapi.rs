//! The OpenAPI 3.0 description of the API, built from [`crate::routes::operations`] (the same
//! values the router is built from) plus the schemas below.

use serde_json::{json, Map, Value};

use crate::routes::{Operation, BASE};

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

/// A query parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub required: bool,
}

impl Param {
    pub const fn query(name: &'static str, required: bool) -> Self {
        Self { name, required }
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

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
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
        let mut parameters = path_params(o.path);
        parameters.extend(d.params.iter().map(|p| {
            json!({"name": p.name, "in": "query", "required": p.required, "schema": {"type": "string"}})
        }));
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
            operation["requestBody"] =
                json!({"required": true, "content": {b.media(): {"schema": b.reference()}}});
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
        "eventDate": string, "status": {"type": "string", "enum": ["RECEIVED", "DISPATCHED", "NOTIFIED", "RETRYING", "FAILED"]},
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
        "NewOrganization": {"type": "object", "required": ["name"], "properties": {"name": string}},
        "Organization": {"type": "object", "required": ["id", "name", "secret"], "properties": {
            "id": {"type": "integer"}, "name": string, "secret": string}},
        "NewUser": {"type": "object", "required": ["email"], "properties": {"email": string, "firstName": string, "lastName": string}},
        "User": {"type": "object", "required": ["id", "email", "secret"], "properties": {
            "id": {"type": "integer"}, "email": string, "secret": string, "organizationId": {"type": "integer"}}},
        "InstanceCreate": {"type": "object", "required": ["element"], "additionalProperties": true, "properties": {
            "element": {"type": "object", "required": ["key"], "properties": {"key": string}},
            "providerData": {"type": "object", "additionalProperties": true},
            "configuration": {"type": "object", "additionalProperties": true},
            "tags": {"type": "array", "items": string}, "name": string}},
        "InstancePatch": {"type": "object", "additionalProperties": true, "properties": {
            "name": string, "tags": {"type": "array", "items": string},
            "configuration": {"type": "object", "additionalProperties": true}}},
        "Instance": instance,
        "InstanceList": {"type": "array", "items": {"$ref": "#/components/schemas/Instance"}},
        "Deleted": {"type": "object", "properties": {"id": {}, "deleted": {"type": "boolean"}}},
        "Event": {"type": "object", "required": ["id", "status", "instanceId", "attempts"], "properties": event_props},
        "EventList": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
        "EventDetail": {"type": "object", "required": ["id", "status", "instanceId", "attempts"], "properties": detail_props},
        "Queued": {"type": "object", "required": ["eventId", "status"], "properties": {
            "eventId": {"type": "integer"}, "status": string}},
        "Replay": {"type": "object", "required": ["from"], "properties": {"from": string, "to": string}},
        "Replayed": {"type": "object", "required": ["replayed"], "properties": {"replayed": {"type": "integer"}}},
        "PollQueued": {"type": "object", "required": ["instanceId", "status"], "properties": {
            "instanceId": {"type": "integer"}, "status": string}},
        "FolderList": {"type": "array", "items": {"$ref": "#/components/schemas/Folder"}},
        "Copy": {"type": "object", "required": ["path"], "properties": {"path": string}},
        "Upload": {"type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}},
        "FileBytes": {"type": "string", "format": "binary"},
        "DeletedPath": {"type": "object", "properties": {"path": string, "deleted": {"type": "boolean"}}},
        "WebhookCreate": {"type": "object", "required": ["target", "triggers"], "properties": {
            "target": {"type": "object", "required": ["id", "type"], "properties": {"id": string, "type": string}},
            "triggers": {"type": "array", "items": string}}},
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
    all
}
