//! Instance records and the indexes that find them: by token, by user, by provider account
//! (webhook routing) and the per-element set of webhook signing secrets.
//!
//! Writes put the indexes first and the record last; deletes remove the record first. A crash
//! in between leaves only an index pointing at nothing, which every reader treats as absent,
//! so no half-created instance is ever visible. Each command touches one hash tag.

use redis::AsyncCommands;

use super::{corrupt, Conn, StoreResult};
use crate::crypto::secret_hash;
use crate::keys::{webhook_account, Keys};
use crate::model::InstanceRecord;

/// What an instance is found by, besides its id.
#[derive(Debug, Clone, Default)]
pub struct InstanceIndexes {
    /// Provider account ids (webhook routing), per element.
    pub routes: Vec<String>,
    /// The sealed webhook signing secrets of the instance (the element's signing entries the
    /// instance has), so ingest can tell a delivery signed by any of the element's apps.
    pub webhook_secrets: Vec<String>,
}

/// The `webhook-secrets` fields of an instance: `<id>` for the first, `<id>:<n>` after.
fn secret_field(inst: u64, n: usize) -> String {
    if n == 0 {
        inst.to_string()
    } else {
        format!("{inst}:{n}")
    }
}

/// Signing entries an element has at most (Box: primary and secondary key).
const MAX_SECRETS: usize = 4;

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
    set_webhook_secrets(conn, keys, rec, &idx.webhook_secrets).await?;
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

/// The ids of every instance, by a cursor scan (no index to keep; used by rare sweeps).
pub async fn all_ids(conn: &mut Conn, keys: &Keys) -> StoreResult<Vec<u64>> {
    let pattern = keys.instance_pattern();
    let mut cursor: u64 = 0;
    let mut ids = Vec::new();
    loop {
        let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(conn)
            .await?;
        ids.extend(found.iter().filter_map(|k| {
            k.rsplit_once("{i:")
                .and_then(|(_, rest)| rest.split_once('}'))
                .and_then(|(id, _)| id.parse::<u64>().ok())
        }));
        if next == 0 {
            break;
        }
        cursor = next;
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The element's sealed signing secrets, each with the instance it belongs to.
pub async fn webhook_secrets(
    conn: &mut Conn,
    keys: &Keys,
    element: &str,
) -> StoreResult<Vec<(u64, String)>> {
    let all: Vec<(String, String)> = conn.hgetall(keys.webhook_secrets(element)).await?;
    Ok(all
        .into_iter()
        .filter_map(|(field, sealed)| {
            let inst = field.split(':').next()?.parse().ok()?;
            Some((inst, sealed))
        })
        .collect())
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
    let fields: Vec<String> = (0..MAX_SECRETS).map(|n| secret_field(rec.id, n)).collect();
    let _: () = conn
        .hdel(keys.webhook_secrets(&rec.element_key), fields)
        .await?;
    let webhooks = provider_webhooks(conn, keys, rec.id).await?;
    for id in webhooks {
        let _: () = conn
            .srem(keys.route(&rec.element_key, &webhook_account(&id)), rec.id)
            .await?;
    }
    let _: () = conn
        .del(&[
            keys.sync_state(rec.id),
            keys.seen(rec.id),
            keys.accepted(rec.id),
            keys.provider_webhooks(rec.id),
            keys.pending(rec.id),
            keys.rate(rec.id),
            keys.rate_slots(rec.id),
        ])
        .await?;
    Ok(())
}

/// Removes the token lookup of an instance (on delete; the token itself is unknown by then).
pub async fn delete_token(conn: &mut Conn, keys: &Keys, token_hash: &str) -> StoreResult<()> {
    let _: () = conn.del(keys.instance_token(token_hash)).await?;
    Ok(())
}

/// Replaces the instance's webhook signing secrets (sealed).
pub async fn set_webhook_secrets(
    conn: &mut Conn,
    keys: &Keys,
    rec: &InstanceRecord,
    sealed: &[String],
) -> StoreResult<()> {
    let key = keys.webhook_secrets(&rec.element_key);
    let mut pipe = redis::pipe();
    pipe.atomic().hdel(
        &key,
        (0..MAX_SECRETS)
            .map(|n| secret_field(rec.id, n))
            .collect::<Vec<_>>(),
    );
    for (n, s) in sealed.iter().take(MAX_SECRETS).enumerate() {
        pipe.hset(&key, secret_field(rec.id, n), s);
    }
    let _: () = pipe.query_async(conn).await?;
    Ok(())
}

/// Remembers a provider-side webhook Herald created for the instance, and routes deliveries
/// that name it (`route:<element>:webhook:<id>`) to the instance.
pub async fn add_provider_webhook(
    conn: &mut Conn,
    keys: &Keys,
    rec: &InstanceRecord,
    webhook_id: &str,
) -> StoreResult<()> {
    let _: () = conn
        .sadd(keys.provider_webhooks(rec.id), webhook_id)
        .await?;
    let _: () = conn
        .sadd(
            keys.route(&rec.element_key, &webhook_account(webhook_id)),
            rec.id,
        )
        .await?;
    Ok(())
}

/// Forgets a provider-side webhook (deleted at the provider).
pub async fn remove_provider_webhook(
    conn: &mut Conn,
    keys: &Keys,
    rec: &InstanceRecord,
    webhook_id: &str,
) -> StoreResult<()> {
    let _: () = conn
        .srem(
            keys.route(&rec.element_key, &webhook_account(webhook_id)),
            rec.id,
        )
        .await?;
    let _: () = conn
        .srem(keys.provider_webhooks(rec.id), webhook_id)
        .await?;
    Ok(())
}

/// The provider-side webhooks Herald created for the instance.
pub async fn provider_webhooks(
    conn: &mut Conn,
    keys: &Keys,
    inst: u64,
) -> StoreResult<Vec<String>> {
    let mut ids: Vec<String> = conn.smembers(keys.provider_webhooks(inst)).await?;
    ids.sort();
    Ok(ids)
}
