//! Organizations and users. A secret is shown once at creation; only its hash is kept.

use redis::AsyncCommands;

use super::{Conn, StoreResult};
use crate::crypto::{random_secret, secret_hash};
use crate::ids::{next_id, IdKind};
use crate::keys::Keys;

#[derive(Debug, Clone)]
pub struct Org {
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub org_id: u64,
    pub email: String,
}

/// Creates an organization; returns it with its one-time secret.
pub async fn create_org(conn: &mut Conn, keys: &Keys, name: &str) -> StoreResult<(Org, String)> {
    let id = next_id(conn, keys, IdKind::Organization).await?;
    let secret = random_secret();
    let hash = secret_hash(&secret);
    // The record first, the lookup last: a crash in between leaves nothing that authenticates.
    let _: () = conn
        .hset_multiple(
            keys.org(id),
            &[
                ("id", id.to_string()),
                ("name", name.to_string()),
                ("secret_hash", hash.clone()),
            ],
        )
        .await?;
    let _: () = conn.set(keys.org_secret(&hash), id).await?;
    Ok((
        Org {
            id,
            name: name.to_string(),
        },
        secret,
    ))
}

pub async fn org_exists(conn: &mut Conn, keys: &Keys, org_id: u64) -> StoreResult<bool> {
    Ok(conn.exists(keys.org(org_id)).await?)
}

/// Creates a user in an organization; returns it with its one-time secret.
pub async fn create_user(
    conn: &mut Conn,
    keys: &Keys,
    org_id: u64,
    email: &str,
    first_name: &str,
    last_name: &str,
) -> StoreResult<(User, String)> {
    let id = next_id(conn, keys, IdKind::User).await?;
    let secret = random_secret();
    let hash = secret_hash(&secret);
    let _: () = conn
        .hset_multiple(
            keys.user(id),
            &[
                ("id", id.to_string()),
                ("org_id", org_id.to_string()),
                ("email", email.to_string()),
                ("first_name", first_name.to_string()),
                ("last_name", last_name.to_string()),
                ("secret_hash", hash.clone()),
            ],
        )
        .await?;
    let _: () = conn.set(keys.user_secret(&hash), id).await?;
    Ok((
        User {
            id,
            org_id,
            email: email.to_string(),
        },
        secret,
    ))
}

/// The organization a secret belongs to.
pub async fn org_by_secret(conn: &mut Conn, keys: &Keys, secret: &str) -> StoreResult<Option<u64>> {
    Ok(conn.get(keys.org_secret(&secret_hash(secret))).await?)
}

/// The user a secret belongs to.
pub async fn user_by_secret(
    conn: &mut Conn,
    keys: &Keys,
    secret: &str,
) -> StoreResult<Option<User>> {
    let id: Option<u64> = conn.get(keys.user_secret(&secret_hash(secret))).await?;
    let Some(id) = id else { return Ok(None) };
    user_by_id(conn, keys, id).await
}

/// A user by id.
pub async fn user_by_id(conn: &mut Conn, keys: &Keys, id: u64) -> StoreResult<Option<User>> {
    let (org_id, email): (Option<u64>, Option<String>) = redis::cmd("HMGET")
        .arg(keys.user(id))
        .arg("org_id")
        .arg("email")
        .query_async(conn)
        .await?;
    Ok(org_id.map(|org_id| User {
        id,
        org_id,
        email: email.unwrap_or_default(),
    }))
}
