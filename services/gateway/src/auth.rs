//! `Authorization: User <secret>, Organization <secret>` (platform calls) and
//! `User <secret>, Element <token>` (instance calls): parts in any order, extra spaces allowed.
//! Wrong or missing secrets are 401; an instance of another user is 404 (never its data).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use herald_core::model::InstanceRecord;
use herald_core::store::identity::{self, User};
use herald_core::store::instances;

use crate::error::ApiError;
use crate::state::AppState;

/// The parts of an Authorization header.
#[derive(Debug, Default, PartialEq)]
pub struct Credentials {
    pub user: Option<String>,
    pub organization: Option<String>,
    pub element: Option<String>,
}

pub fn parse(header: &str) -> Credentials {
    let mut c = Credentials::default();
    for part in header.split(',') {
        let mut words = part.split_whitespace();
        let (Some(kind), Some(value)) = (words.next(), words.next()) else {
            continue;
        };
        let slot = match kind.to_ascii_lowercase().as_str() {
            "user" => &mut c.user,
            "organization" => &mut c.organization,
            "element" => &mut c.element,
            _ => continue,
        };
        *slot = Some(value.to_string());
    }
    c
}

fn credentials(parts: &Parts) -> Credentials {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(parse)
        .unwrap_or_default()
}

const BAD_SECRETS: &str = "Invalid or missing credentials";

/// A caller authenticated as a user of an organization.
pub struct PlatformAuth {
    pub user: User,
}

impl FromRequestParts<AppState> for PlatformAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let c = credentials(parts);
        let (Some(user_secret), Some(org_secret)) = (c.user, c.organization) else {
            return Err(ApiError::Unauthorized(BAD_SECRETS));
        };
        let mut conn = state.brokers.redis.clone();
        let keys = &state.brokers.keys;
        let user = identity::user_by_secret(&mut conn, keys, &user_secret).await?;
        let org = identity::org_by_secret(&mut conn, keys, &org_secret).await?;
        match (user, org) {
            (Some(user), Some(org)) if user.org_id == org => Ok(Self { user }),
            _ => Err(ApiError::Unauthorized(BAD_SECRETS)),
        }
    }
}

/// Marks a request the gateway replays itself (an async hub request): its caller was
/// authenticated when it was accepted. Only the gateway can set an extension; no header can.
#[derive(Debug, Clone, Copy)]
pub struct Preauthorized {
    pub instance_id: u64,
    pub user_id: u64,
}

/// A caller acting on one instance with its token.
pub struct InstanceAuth {
    pub user: User,
    pub instance: InstanceRecord,
}

impl FromRequestParts<AppState> for InstanceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(pre) = parts.extensions.get::<Preauthorized>().copied() {
            return preauthorized(state, pre).await;
        }
        let c = credentials(parts);
        let (Some(user_secret), Some(token)) = (c.user, c.element) else {
            return Err(ApiError::Unauthorized(BAD_SECRETS));
        };
        let mut conn = state.brokers.redis.clone();
        let keys = &state.brokers.keys;
        let user = identity::user_by_secret(&mut conn, keys, &user_secret)
            .await?
            .ok_or(ApiError::Unauthorized(BAD_SECRETS))?;
        let id = instances::id_by_token(&mut conn, keys, &token)
            .await?
            .ok_or(ApiError::Unauthorized(BAD_SECRETS))?;
        match instances::get(&mut conn, keys, id).await? {
            Some(instance) if instance.user_id == user.id => Ok(Self { user, instance }),
            // A real token of someone else's instance: it is not the caller's to see.
            Some(_) => Err(ApiError::NotFound("No such instance".into())),
            None => Err(ApiError::Unauthorized(BAD_SECRETS)),
        }
    }
}

async fn preauthorized(state: &AppState, pre: Preauthorized) -> Result<InstanceAuth, ApiError> {
    let mut conn = state.brokers.redis.clone();
    let keys = &state.brokers.keys;
    let user = identity::user_by_id(&mut conn, keys, pre.user_id)
        .await?
        .ok_or(ApiError::Unauthorized(BAD_SECRETS))?;
    match instances::get(&mut conn, keys, pre.instance_id).await? {
        Some(instance) if instance.user_id == user.id => Ok(InstanceAuth { user, instance }),
        _ => Err(ApiError::Unauthorized(BAD_SECRETS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_in_any_order_with_extra_spaces() {
        let c = parse("  Element  tok ,User u1,   Organization   o1 ");
        assert_eq!(c.user.as_deref(), Some("u1"));
        assert_eq!(c.organization.as_deref(), Some("o1"));
        assert_eq!(c.element.as_deref(), Some("tok"));
        assert_eq!(parse("Bearer x"), Credentials::default());
    }
}
