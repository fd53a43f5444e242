//! The API's routes, one module per resource, under `/elements/api-v2`.

mod admin;
mod elements;
mod events;
mod hubs;
mod instances;
pub(crate) mod rpc;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post, put};
use axum::Router;

use crate::state::AppState;

/// Largest request body accepted.
const BODY_LIMIT: usize = 1024 * 1024;

pub fn router(state: AppState, request_timeout: std::time::Duration) -> Router {
    let api = Router::new()
        .route("/elements", get(elements::list))
        .route("/elements/{key}", get(elements::get_one))
        .route("/elements/{key}/oauth/url", get(elements::oauth_url))
        .route("/admin/organizations", post(admin::create_org))
        .route(
            "/admin/organizations/{org_id}/users",
            post(admin::create_user),
        )
        .route("/instances", post(instances::create).get(instances::list))
        .route("/instances/events", get(events::list_for_user))
        .route("/instances/events/{event_id}", get(events::get_one))
        .route(
            "/instances/enabled",
            put(instances::enable).delete(instances::disable),
        )
        .route(
            "/instances/{id}",
            get(instances::get_one)
                .patch(instances::update)
                .delete(instances::delete),
        )
        .route("/instances/{id}/events", get(events::list_for_instance))
        .route("/hubs/documents/folders", post(hubs::create_folder));
    Router::new()
        .nest("/elements/api-v2", api)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // A request that takes longer (a slow client body, a stuck provider) answers 408.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(middleware::from_fn(herald_core::http::request_context))
}
