//! `Authorization: User <secret>, Organization <secret>` (platform calls) and
//! `User <secret>, Element <token>` (instance calls), in the forms the original's clients send:
//! parts in any order, separated by commas, each keyword (any case) followed by a space or a
//! colon, extra spaces ignored. An instance call may carry `Organization` too (it must be the
//! user's), a platform call an `Element` part (ignored). Anything else — an unknown keyword, a
//! part twice, a value with spaces or none — makes the whole header unreadable: 401, never a
//! guess. An instance of another user is 404 (never its data).

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

/// Reads a header; `None` when it is not one of the accepted forms.
pub fn parse(header: &str) -> Option<Credentials> {
    let mut c = Credentials::default();
    for part in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let split = part
            .find(|ch: char| ch == ':' || ch.is_whitespace())
            .unwrap_or(part.len());
        let (kind, rest) = part.split_at(split);
        let rest = rest.trim_start();
        let value = rest.strip_prefix(':').unwrap_or(rest).trim();
        if value.is_empty() || value.contains(char::is_whitespace) {
            return None;
        }
        let slot = match kind.to_ascii_lowercase().as_str() {
            "user" => &mut c.user,
            "organization" => &mut c.organization,
            "element" => &mut c.element,
            _ => return None,
        };
        if slot.replace(value.to_string()).is_some() {
            return None;
        }
    }
    Some(c)
}

fn credentials(parts: &Parts) -> Credentials {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse)
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
        // Optional here, but never ignored: a wrong or foreign organization is refused.
        if let Some(org_secret) = c.organization {
            let org = identity::org_by_secret(&mut conn, keys, &org_secret).await?;
            if org != Some(user.org_id) {
                return Err(ApiError::Unauthorized(BAD_SECRETS));
            }
        }
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

    fn creds(user: &str, org: Option<&str>, element: Option<&str>) -> Option<Credentials> {
        Some(Credentials {
            user: Some(user.into()),
            organization: org.map(Into::into),
            element: element.map(Into::into),
        })
    }

    #[test]
    fn accepted_forms() {
        let platform = creds("u1", Some("o1"), None);
        for h in [
            "User u1, Organization o1",
            "Organization o1, User u1",
            "user u1,organization o1",
            "USER u1 , ORGANIZATION o1",
            "  User   u1 ,   Organization    o1  ",
            "User: u1, Organization: o1",
            "User:u1,Organization:o1",
            "User : u1, Organization :o1",
            "User u1, Organization o1,",
        ] {
            assert_eq!(parse(h), platform, "{h}");
        }
        let instance = creds("u1", None, Some("tok"));
        for h in [
            "User u1, Element tok",
            "Element tok, User u1",
            "User u1, Element: tok",
            "Element:tok , User:u1",
        ] {
            assert_eq!(parse(h), instance, "{h}");
        }
        // The original's clients send all three on every call.
        for h in [
            "User u1, Organization o1, Element: tok",
            "Element tok, Organization: o1, User u1",
        ] {
            assert_eq!(parse(h), creds("u1", Some("o1"), Some("tok")), "{h}");
        }
    }

    #[test]
    fn refused_forms() {
        for h in [
            "Bearer x",
            "Basic dXNlcjpwYXNz",
            "User",
            "User ,Organization o1",
            "User:, Organization o1",
            "User u1 u2, Organization o1",
            "User u1, User u2, Organization o1",
            "User u1, Organization o1, Token t",
            "Username u1, Organization o1",
            "User u1 Organization o1",
        ] {
            assert_eq!(parse(h), None, "{h:?}");
        }
    }
}
