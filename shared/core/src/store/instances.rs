//! Instance records and the indexes that find them: by token, by user, by provider account
//! (webhook routing) and the per-element set of webhook signing secrets.
//!
//! Writes put the indexes first and the record last; deletes remove the record first. A crash
//! in between leaves only an index pointing at nothing, which every reader treats as absent,
//! so no half-created instance is ever visible. Each command touches one hash tag.

use redis::AsyncCommands;

use super::{corrupt, Conn, StoreResult};
use crate::crypto::secret_hash;
use crate::keys::Keys;
use crate::model::InstanceRecord;

/// What an instance is found by, besides its id.
#[derive(Debug, Clone, Default)]
pub struct InstanceIndexes {
    /// Provider account ids (webhook routing), per element.
    pub routes: Vec<String>,
    /// The sealed webhook signing secret of the element's app, if the element signs webhooks.
    pub webhook_secret: Option<String>,
}

pub async fn insert(
    conn: &mut Conn,
    keys: &Keys,
    rec: &InstanceRecord,
    token: &str,
    idx: &InstanceIndexes,
) -> StoreResult<()> {
    let _: () = conn
        .set(keys.instance_token(&secret_hash(token)), rec.id)
        .await?;
    let _: () = conn.sadd(keys.user_instances(rec.user_id), rec.id).await?;
    for account in &idx.routes {
        let _: () = conn
            .sadd(keys.route(&rec.element_key, account), rec.id)
            .await?;
    }
    if let Some(sealed) = &idx.webhook_secret {
        let _: () = conn
            .hset(keys.webhook_secrets(&rec.element_key), rec.id, sealed)
            .await?;
    }
    put(conn, keys, rec).await
}

/// Writes the record (create or update).
pub async fn put(conn: &mut Conn, keys: &Keys, rec: &InstanceRecord) -> StoreResult<()> {
    let key = keys.instance(rec.id);
    let json = serde_json::to_string(rec).map_err(|e| corrupt(&key, e))?;
    let _: () = conn.set(key, json).await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, keys: &Keys, id: u64) -> StoreResult<Option<InstanceRecord>> {
    let key = keys.instance(id);
    let raw: Option<String> = conn.get(&key).await?;
    raw.map(|r| serde_json::from_str(&r).map_err(|e| corrupt(&key, e)))
        .transpose()
}

/// The instance an instance token belongs to.
pub async fn id_by_token(conn: &mut Conn, keys: &Keys, token: &str) -> StoreResult<Option<u64>> {
    Ok(conn.get(keys.instance_token(&secret_hash(token))).await?)
}

/// The user's instances, by id.
pub async fn list_for_user(
    conn: &mut Conn,
    keys: &Keys,
    user_id: u64,
) -> StoreResult<Vec<InstanceRecord>> {
    let mut ids: Vec<u64> = conn.smembers(keys.user_instances(user_id)).await?;
    ids.sort_unstable();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(rec) = get(conn, keys, id).await? {
            out.push(rec);
        }
    }
    Ok(out)
}

/// Instances behind a provider account.
pub async fn routed(
    conn: &mut Conn,
    keys: &Keys,
    element: &str,
    account: &str,
) -> StoreResult<Vec<u64>> {
    let mut ids: Vec<u64> = conn.smembers(keys.route(element, account)).await?;
    ids.sort_unstable();
    Ok(ids)
}

/// Every sealed webhook signing secret registered for an element.
pub async fn webhook_secrets(
    conn: &mut Conn,
    keys: &Keys,
    element: &str,
) -> StoreResult<Vec<String>> {
    Ok(conn.hvals(keys.webhook_secrets(element)).await?)
}

/// Removes the record first, then its indexes.
pub async fn delete(
    conn: &mut Conn,
    keys: &Keys,
    rec: &InstanceRecord,
    routes: &[String],
) -> StoreResult<()> {
    let _: () = conn.del(keys.instance(rec.id)).await?;
    let _: () = conn.srem(keys.user_instances(rec.user_id), rec.id).await?;
    for account in routes {
        let _: () = conn
            .srem(keys.route(&rec.element_key, account), rec.id)
            .await?;
    }
    let _: () = conn
        .hdel(keys.webhook_secrets(&rec.element_key), rec.id)
        .await?;
    let _: () = conn
        .del(&[keys.sync_state(rec.id), keys.seen(rec.id)])
        .await?;
    Ok(())
}

/// Removes the token lookup of an instance (on delete; the token itself is unknown by then).
pub async fn delete_token(conn: &mut Conn, keys: &Keys, token_hash: &str) -> StoreResult<()> {
    let _: () = conn.del(keys.instance_token(token_hash)).await?;
    Ok(())
}

/// Replaces the instance's webhook signing secret (sealed).
pub async fn set_webhook_secret(
    conn: &mut Conn,
    keys: &Keys,
    rec: &InstanceRecord,
    sealed: &str,
) -> StoreResult<()> {
    let _: () = conn
        .hset(keys.webhook_secrets(&rec.element_key), rec.id, sealed)
        .await?;
    Ok(())
}
