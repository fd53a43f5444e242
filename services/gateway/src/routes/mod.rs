//! The API's routes, one module per resource, under `/elements/api-v2`.
//!
//! [`operations`] is the one list of what the API serves: each entry carries its handler *and*
//! its description, so the router and `/openapi.json` are built from the same values and cannot
//! drift apart.

mod admin;
mod documents;
mod elements;
mod events;
mod instances;
mod polls;
pub(crate) mod rpc;
mod unrouted;
mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::middleware;
use axum::routing::{delete, get, patch, post, put, MethodRouter};
use axum::Router;

use crate::openapi::{event_statuses, value, Auth, Doc, Param};
use crate::state::AppState;

/// Largest request body accepted.
const BODY_LIMIT: usize = 1024 * 1024;

/// Where the API lives.
pub const BASE: &str = "/elements/api-v2";

/// One operation: its handler and its description.
pub struct Operation {
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
    pub doc: Doc,
}

fn op(method: Method, path: &'static str, handler: MethodRouter<AppState>, doc: Doc) -> Operation {
    Operation {
        method,
        path,
        handler,
        doc,
    }
}

/// Everything the API serves.
pub fn operations() -> Vec<Operation> {
    use crate::openapi::Schema as S;
    // The events lists' filters (`events::filter`).
    let event_filters = [
        Param::filter("status", event_statuses()),
        Param::filter("from", value::date_time()),
        Param::filter("to", value::date_time()),
        Param::filter("pageSize", value::integer(1, events::MAX_PAGE as u64)),
        // A page token is the offset of the page.
        Param::filter("nextPage", value::integer(0, usize::MAX as u64)),
    ];
    // What every documents-hub call but a listing names.
    let below_root = [Param::query("path", value::hub_path_below_root())];
    // Box's own id, not a number.
    let webhook_id = [Param::path("id", value::text())];
    vec![
        op(
            Method::GET,
            "/elements",
            get(elements::list),
            Doc::new("listElements", "The elements catalog", Auth::None).ok(S::ElementList),
        ),
        op(
            Method::GET,
            "/elements/{key}",
            get(elements::get_one),
            Doc::new(
                "getElement",
                "One element with its configuration entries",
                Auth::None,
            )
            .ok(S::Element)
            .status(404),
        ),
        op(
            Method::GET,
            "/elements/keys",
            get(elements::keys),
            Doc::new("listElementKeys", "The element keys", Auth::None).ok(S::Keys),
        ),
        op(
            Method::GET,
            "/elements/{key}/configuration",
            get(elements::configuration),
            Doc::new(
                "getElementConfiguration",
                "One element's configuration entries",
                Auth::None,
            )
            .ok(S::ConfigEntries)
            .status(404),
        ),
        op(
            Method::GET,
            "/hubs",
            get(elements::hubs),
            Doc::new("listHubs", "The hubs and their elements", Auth::None).ok(S::HubList),
        ),
        op(
            Method::GET,
            "/hubs/keys",
            get(elements::hub_keys),
            Doc::new("listHubKeys", "The hub keys", Auth::None).ok(S::Keys),
        ),
        op(
            Method::GET,
            "/hubs/{key}",
            get(elements::hub_one),
            Doc::new("getHub", "One hub", Auth::None)
                .ok(S::Hub)
                .status(404),
        ),
        op(
            Method::GET,
            "/hubs/{key}/elements",
            get(elements::hub_elements),
            Doc::new(
                "listHubElements",
                "The catalog entries of a hub's elements",
                Auth::None,
            )
            .ok(S::ElementList)
            .status(404),
        ),
        op(
            Method::GET,
            "/elements/{key}/oauth/url",
            get(elements::oauth_url),
            Doc::new(
                "getOAuthUrl",
                "The provider's OAuth authorize URL",
                Auth::None,
            )
            .params(&[
                Param::query("apiKey", value::non_blank()),
                Param::optional("apiSecret", value::text()),
                Param::query("callbackUrl", value::non_blank()),
                Param::optional("state", value::text()),
                Param::optional("scope", value::text()),
            ])
            .ok(S::OAuthUrl)
            .status(400)
            .status(404),
        ),
        op(
            Method::POST,
            "/admin/organizations",
            post(admin::create_org),
            Doc::new(
                "createOrganization",
                "Create an organization (admin)",
                Auth::Admin,
            )
            .body(S::NewOrganization)
            .created(S::Organization)
            .status(400),
        ),
        op(
            Method::POST,
            "/admin/organizations/{orgId}/users",
            post(admin::create_user),
            Doc::new(
                "createUser",
                "Create a user in an organization (admin)",
                Auth::Admin,
            )
            .body(S::NewUser)
            .created(S::User)
            .status(400)
            .status(404),
        ),
        op(
            Method::POST,
            "/instances",
            post(instances::create),
            Doc::new(
                "createInstance",
                "Provision an element instance",
                Auth::Platform,
            )
            .body(S::InstanceCreate)
            .ok(S::Instance)
            .status(400)
            .status(404)
            .status(502)
            .status(503)
            .status(504),
        ),
        op(
            Method::GET,
            "/instances",
            get(instances::list),
            Doc::new("listInstances", "The caller's instances", Auth::Platform).ok(S::InstanceList),
        ),
        op(
            Method::GET,
            "/instances/events",
            get(events::list_for_user),
            Doc::new("listEvents", "The caller's notifications", Auth::Platform)
                .params(&event_filters)
                .ok(S::EventList)
                .status(400),
        ),
        op(
            Method::GET,
            "/instances/events/{eventId}",
            get(events::get_one),
            Doc::new(
                "getEvent",
                "One notification with its bodies and attempts",
                Auth::Platform,
            )
            .ok(S::EventDetail)
            .status(404),
        ),
        op(
            Method::PUT,
            "/instances/enabled",
            put(instances::enable),
            Doc::new(
                "enableInstance",
                "Enable the token's instance",
                Auth::Instance,
            )
            .ok(S::Instance),
        ),
        op(
            Method::DELETE,
            "/instances/enabled",
            delete(instances::disable),
            Doc::new(
                "disableInstance",
                "Disable the token's instance",
                Auth::Instance,
            )
            .ok(S::Instance),
        ),
        op(
            Method::PUT,
            "/instances/{id}/enabled",
            put(instances::enable_by_id),
            Doc::new(
                "enableInstanceById",
                "Enable one of the caller's instances",
                Auth::Platform,
            )
            .ok(S::Instance)
            .status(404)
            .status(503),
        ),
        op(
            Method::DELETE,
            "/instances/{id}/enabled",
            delete(instances::disable_by_id),
            Doc::new(
                "disableInstanceById",
                "Disable one of the caller's instances",
                Auth::Platform,
            )
            .ok(S::Instance)
            .status(404)
            .status(503),
        ),
        op(
            Method::GET,
            "/instances/{id}",
            get(instances::get_one),
            Doc::new(
                "getInstance",
                "One of the caller's instances",
                Auth::Platform,
            )
            .ok(S::Instance)
            .status(404),
        ),
        op(
            Method::PUT,
            "/instances/{id}",
            put(instances::replace),
            Doc::new(
                "replaceInstance",
                "Replace name, tags and configuration (a create body without providerData)",
                Auth::Platform,
            )
            .body(S::InstanceReplace)
            .ok(S::Instance)
            .status(400)
            .status(404)
            .status(503),
        ),
        op(
            Method::PATCH,
            "/instances/{id}",
            patch(instances::update),
            Doc::new(
                "updateInstance",
                "Change name, tags or configuration entries",
                Auth::Platform,
            )
            .body(S::InstancePatch)
            .ok(S::Instance)
            .status(400)
            .status(404),
        ),
        op(
            Method::DELETE,
            "/instances/{id}",
            delete(instances::delete),
            Doc::new(
                "deleteInstance",
                "Delete an instance, revoking its tokens",
                Auth::Platform,
            )
            .ok(S::Deleted)
            .status(404),
        ),
        op(
            Method::GET,
            "/instances/{id}/events",
            get(events::list_for_instance),
            Doc::new(
                "listInstanceEvents",
                "An instance's notifications",
                Auth::Platform,
            )
            .params(&event_filters)
            .ok(S::EventList)
            .status(400)
            .status(404),
        ),
        op(
            Method::POST,
            "/instances/events/{eventId}/retry",
            post(events::retry),
            Doc::new(
                "retryEvent",
                "Send a notification once more now (same body and ids)",
                Auth::Platform,
            )
            .accepted(S::Queued)
            .status(404)
            .status(503),
        ),
        op(
            Method::POST,
            "/instances/{id}/events/replay",
            post(events::replay),
            Doc::new(
                "replayEvents",
                "Resend an instance's notifications of a time range",
                Auth::Platform,
            )
            .body(S::Replay)
            .accepted(S::Replayed)
            .status(400)
            .status(404)
            .status(503),
        ),
        op(
            Method::POST,
            "/instances/{id}/events/poll",
            post(polls::poll_now),
            Doc::new("pollNow", "Poll the instance now", Auth::Platform)
                .accepted(S::PollQueued)
                .status(404)
                .status(409)
                .status(503),
        ),
        op(
            Method::GET,
            "/hubs/documents/folders/contents",
            get(documents::list),
            Doc::new("listFolder", "What a folder holds", Auth::Instance)
                .params(&[Param::query("path", value::hub_path())])
                .ok(S::FolderList)
                .provider_errors(),
        ),
        op(
            Method::POST,
            "/hubs/documents/folders",
            post(documents::create_folder),
            Doc::new(
                "createFolder",
                "Create a folder at the provider",
                Auth::Instance,
            )
            .params(&below_root)
            .body(S::Ignored)
            .ok(S::Folder)
            .provider_errors(),
        ),
        op(
            Method::DELETE,
            "/hubs/documents/folders",
            delete(documents::delete_folder),
            Doc::new(
                "deleteFolder",
                "Delete a folder and what it holds",
                Auth::Instance,
            )
            .params(&below_root)
            .ok(S::Deleted2)
            .provider_errors(),
        ),
        op(
            Method::POST,
            "/hubs/documents/folders/copy",
            post(documents::copy_folder),
            Doc::new(
                "copyFolder",
                "Copy a folder to the body's path",
                Auth::Instance,
            )
            .params(&below_root)
            .body(S::Copy)
            .ok(S::Folder)
            .provider_errors(),
        ),
        op(
            Method::POST,
            "/hubs/documents/files",
            post(documents::upload),
            Doc::new(
                "uploadFile",
                "Upload a file (multipart part file)",
                Auth::Instance,
            )
            .params(&below_root)
            .body(S::Upload)
            .ok(S::Folder)
            .provider_errors(),
        ),
        op(
            Method::GET,
            "/hubs/documents/files",
            get(documents::download),
            Doc::new("downloadFile", "A file's bytes", Auth::Instance)
                .params(&below_root)
                .ok(S::FileBytes)
                .provider_errors(),
        ),
        op(
            Method::DELETE,
            "/hubs/documents/files",
            delete(documents::delete_file),
            Doc::new("deleteFile", "Delete a file", Auth::Instance)
                .params(&below_root)
                .ok(S::Deleted2)
                .provider_errors(),
        ),
        op(
            Method::POST,
            "/hubs/documents/webhooks",
            post(webhooks::create),
            Doc::new(
                "createWebhook",
                "Create a Box webhook (v2) whose deliveries come to Herald",
                Auth::Instance,
            )
            .body(S::WebhookCreate)
            .ok(S::Webhook)
            .provider_errors(),
        ),
        op(
            Method::GET,
            "/hubs/documents/webhooks",
            get(webhooks::list),
            Doc::new(
                "listWebhooks",
                "The Box webhooks of the instance's user",
                Auth::Instance,
            )
            .ok(S::WebhookList)
            .status(400)
            .status(502)
            .status(504),
        ),
        op(
            Method::GET,
            "/hubs/documents/webhooks/{id}",
            get(webhooks::get),
            Doc::new("getWebhook", "One Box webhook", Auth::Instance)
                .params(&webhook_id)
                .ok(S::Webhook)
                .status(400)
                .status(404)
                .status(502)
                .status(504),
        ),
        op(
            Method::DELETE,
            "/hubs/documents/webhooks/{id}",
            delete(webhooks::delete),
            Doc::new("deleteWebhook", "Delete a Box webhook", Auth::Instance)
                .params(&webhook_id)
                .ok(S::Deleted)
                .status(400)
                .status(404)
                .status(502)
                .status(503)
                .status(504),
        ),
    ]
}

pub fn router(state: AppState, request_timeout: std::time::Duration) -> Router {
    let limits = state.rate_limits.clone();
    // One method router per path, so each gets the fallback for methods it does not serve.
    // Instance-auth paths check credentials before answering 405.
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>, bool)> = Vec::new();
    for o in operations() {
        let instance = matches!(o.doc.auth, crate::openapi::Auth::Instance);
        match by_path.iter_mut().find(|(p, _, _)| *p == o.path) {
            Some((_, m, i)) => {
                *m = std::mem::take(m).merge(o.handler);
                *i |= instance;
            }
            None => by_path.push((o.path, o.handler, instance)),
        }
    }
    let mut api = Router::new();
    for (path, handler, instance) in by_path {
        let handler = if instance {
            handler.fallback(unrouted::hub_method)
        } else {
            handler.fallback(unrouted::method)
        };
        api = api.route(path, handler);
    }
    let api = api
        .route_layer(middleware::from_fn(herald_core::http::record_route))
        .fallback(unrouted::path)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::async_requests::accept,
        ));
    let openapi = crate::openapi::document(&operations());
    Router::new()
        .nest(BASE, api)
        .route(
            "/openapi.json",
            get(move || async move { axum::Json(openapi.clone()) }),
        )
        // The web console: static pages beside the API it calls (same origin, no CORS).
        .merge(crate::console::router())
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // A request that takes longer (a slow client body, a stuck provider) answers 408.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        // Inside the request context, so a 429 carries its request id too.
        .layer(middleware::from_fn_with_state(
            limits,
            herald_core::rate_limit::enforce,
        ))
        .layer(middleware::from_fn(herald_core::http::request_context))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where two routes of one method overlap and one has a literal where the other has a
    /// parameter (`/elements/keys`, `/elements/{key}`), the router takes the literal: so the
    /// literal must never be a value the parameter can take — no element or hub may be called
    /// `keys`, no instance id can be `enabled` — now or when elements are added.
    #[test]
    fn no_literal_segment_is_a_value_of_an_overlapping_parameter() {
        let ops = operations();
        let mut checked = 0;
        for a in &ops {
            for b in &ops {
                let (sa, sb): (Vec<&str>, Vec<&str>) =
                    (a.path.split('/').collect(), b.path.split('/').collect());
                let param = |s: &str| s.starts_with('{');
                let overlap = a.method == b.method
                    && sa.len() == sb.len()
                    && sa
                        .iter()
                        .zip(&sb)
                        .all(|(x, y)| x == y || param(x) || param(y));
                if !overlap {
                    continue;
                }
                for (lit, p) in sa.iter().zip(&sb).filter(|(x, y)| !param(x) && param(y)) {
                    checked += 1;
                    let taken = match *p {
                        "{key}" => {
                            herald_elements::ElementKey::parse(lit).is_some()
                                || herald_elements::Hub::parse(lit).is_some()
                        }
                        _ => lit.parse::<u64>().is_ok(),
                    };
                    assert!(
                        !taken,
                        "{lit} in {} is a value of {p} in {}",
                        a.path, b.path
                    );
                }
            }
        }
        assert!(
            checked >= 3,
            "the overlapping routes were found ({checked})"
        );
    }
}
