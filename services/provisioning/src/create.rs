//! Creating an instance: validate, exchange the code, start the change feed, store, announce.
//!
//! All provider work happens before anything is written, and every write after the first is
//! undone if a later step fails, so a failed create leaves nothing behind.

use herald_core::crypto::{random_secret, SealedFor};
use herald_core::ids::{next_id, IdKind};
use herald_core::model::{InstanceFact, InstanceRecord, ProviderState};
use herald_core::store::instances::{self, InstanceIndexes};
use herald_core::store::sync;
use herald_core::time::{now_ms, now_rfc3339};
use herald_elements::oauth::OAuthApp;
use herald_elements::{changes, connect, view};
use serde_json::{Map, Value};

use crate::error::ProvisionError;
use crate::request;
use crate::Ctx;

pub async fn create(
    ctx: &Ctx,
    user_id: u64,
    org_id: u64,
    body: &Map<String, Value>,
) -> Result<Value, ProvisionError> {
    let req = request::parse(body, ctx.limits)?;
    request::check_callback(&req.configuration, ctx.allow_private_callbacks).await?;
    let def = req.element;
    let urls = ctx
        .urls
        .get(def.key)
        .ok_or_else(|| ProvisionError::Internal(format!("no URLs for {}", def.key)))?
        .for_instance(|k| req.config_str(k));
    let urls = &urls;
    let client_secret = req
        .config_str("oauth.api.secret")
        .unwrap_or_default()
        .to_string();
    let app = OAuthApp {
        client_id: req.config_str("oauth.api.key").unwrap_or_default(),
        client_secret: &client_secret,
        redirect_uri: req.config_str("oauth.callback.url").unwrap_or_default(),
    };
    let conn = connect::connect(
        &ctx.http,
        def.key,
        urls,
        &app,
        req.code.as_deref(),
        &req.provider_data,
    )
    .await
    .map_err(|e| ProvisionError::from_provider(e, true))?;
    let feed = if changes::has_feed(def.key) {
        Some(
            changes::start(&ctx.http, def.key, urls, &conn.tokens.access_token)
                .await
                .map_err(|e| ProvisionError::from_provider(e, false))?,
        )
    } else {
        None
    };

    let sb = &ctx.secret_box;
    let mut redis = ctx.brokers.redis.clone();
    let keys = &ctx.brokers.keys;
    let id = next_id(&mut redis, keys, IdKind::Instance)
        .await
        .map_err(herald_core::store::StoreError::from)?;
    let token = random_secret();
    let mut configuration = req.configuration.clone();
    let mut secret_keys = Vec::new();
    for (k, v) in configuration.iter_mut() {
        if def.is_secret(k) {
            if let Value::String(s) = v {
                *v = Value::String(sb.seal(s, SealedFor::entry(id, k)));
                secret_keys.push(k.clone());
            }
        }
    }
    let rec = InstanceRecord {
        id,
        name: req.name.clone(),
        user_id,
        org_id,
        element_key: def.key.to_string(),
        tags: req.tags.clone(),
        created_date: now_rfc3339(),
        configuration,
        secret_keys,
        provider: ProviderState {
            access_token: Some(sb.seal(&conn.tokens.access_token, SealedFor::access_token(id))),
            refresh_token: conn
                .tokens
                .refresh_token
                .as_deref()
                .map(|t| sb.seal(t, SealedFor::refresh_token(id))),
            expires_at_ms: conn
                .tokens
                .expires_in_secs
                .map(|s| now_ms() + (s as i64) * 1000),
            account_id: conn.account_id.clone(),
            api_base: conn.api_base.clone(),
            token_version: 1,
        },
        valid: true,
        invalid_reason: None,
        disabled: false,
        events_enabled: req.events_enabled,
        token_hash: herald_core::crypto::secret_hash(&token),
    };
    let indexes = InstanceIndexes {
        routes: conn.account_id.iter().cloned().collect(),
        webhook_secrets: crate::lifecycle::signing_secrets(sb, def.key, &rec),
    };

    let stored = async {
        if let Some(feed) = &feed {
            sync::init(&mut redis, keys, id, &feed.cursor, &feed.seen).await?;
        }
        instances::insert(&mut redis, keys, &rec, &token, &indexes).await?;
        crate::schedule::sync_schedule(ctx, &rec).await?;
        Ok::<_, ProvisionError>(())
    }
    .await;
    let announced = match stored {
        Ok(()) => announce(ctx, &rec).await,
        Err(e) => Err(e),
    };
    if let Err(e) = announced {
        // Undo in reverse; if Redis is gone too, the record was never readable anyway.
        let mut redis = ctx.brokers.redis.clone();
        let _ = instances::delete(&mut redis, keys, &rec, &indexes.routes).await;
        let _ = herald_core::store::polls::forget(&mut redis, keys, rec.id).await;
        let _ =
            instances::delete_token(&mut redis, keys, &herald_core::crypto::secret_hash(&token))
                .await;
        return Err(e);
    }
    tracing::info!(
        instance_id = id,
        element = %def.key,
        user_id,
        "instance created"
    );
    Ok(view::instance_json(&rec, Some(&token)))
}

async fn announce(ctx: &Ctx, rec: &InstanceRecord) -> Result<(), ProvisionError> {
    let fact = InstanceFact::CreatedV1 {
        instance_id: rec.id,
        element_key: rec.element_key.clone(),
    };
    publish_fact(ctx, "created", &fact).await
}

/// Publishes a lifecycle fact and waits for JetStream to store it.
pub async fn publish_fact(
    ctx: &Ctx,
    name: &str,
    fact: &InstanceFact,
) -> Result<(), ProvisionError> {
    let payload = serde_json::to_vec(fact).map_err(ProvisionError::Encode)?;
    let ack = ctx
        .brokers
        .js
        .publish(ctx.brokers.topo.instances(name), payload.into())
        .await
        .map_err(ProvisionError::Publish)?;
    ack.await.map_err(ProvisionError::Publish)?;
    Ok(())
}
