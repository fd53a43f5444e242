//! Changing and removing instances: PATCH, PUT, DELETE, enable/disable. Every write of an instance
//! record in provisioning happens under the instance's `record` lease, so a token refresh and a
//! PATCH never overwrite each other.

use std::future::Future;
use std::time::Duration;

use herald_core::crypto::{SealedFor, SecretBox};
use herald_core::keys::InstanceLease;
use herald_core::model::{InstanceFact, InstanceRecord, UpdateMode};
use herald_core::store::{instances, sync};
use herald_elements::oauth::{self, OAuthApp};
use herald_elements::view::{self, MASK};
use herald_elements::{boxcom, catalog, webhooks, ElementError, ElementKey};

use crate::refresh::refresh_locked;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};

use crate::create::publish_fact;
use crate::error::ProvisionError;
use crate::request::{collect_configuration, validate_configuration};
use crate::Ctx;

const LEASE_MS: u64 = 30_000;
const WAIT: Duration = Duration::from_secs(30);

/// Runs `f` holding the instance's record lease.
pub async fn with_record_lock<T, F, Fut>(
    ctx: &Ctx,
    instance_id: u64,
    f: F,
) -> Result<T, ProvisionError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, ProvisionError>>,
{
    let lock = ctx.brokers.keys.lock(instance_id, InstanceLease::Record);
    // Renewed by a heartbeat while held, so a slow provider call cannot outlive it.
    let lease = sync::Lease::acquire(&ctx.brokers.redis, &lock, LEASE_MS, WAIT)
        .await?
        .ok_or_else(|| ProvisionError::Unavailable("instance is busy".into()))?;
    let result = f().await;
    lease.release().await;
    result
}

async fn owned(
    ctx: &Ctx,
    instance_id: u64,
    user_id: Option<u64>,
) -> Result<InstanceRecord, ProvisionError> {
    let mut redis = ctx.brokers.redis.clone();
    match instances::get(&mut redis, &ctx.brokers.keys, instance_id).await? {
        Some(rec) if user_id.is_none_or(|u| u == rec.user_id) => Ok(rec),
        _ => Err(ProvisionError::NotFound(format!(
            "No instance {instance_id}"
        ))),
    }
}

async fn announce_update(ctx: &Ctx, rec: &InstanceRecord) -> Result<(), ProvisionError> {
    let fact = InstanceFact::UpdatedV1 {
        instance_id: rec.id,
        element_key: rec.element_key.clone(),
    };
    publish_fact(ctx, "updated", &fact).await
}

/// The entries of `rec` for the element's secrets index (ingest checks deliveries that concern
/// none of Herald's instances against them): its own seal of each signing secret.
pub fn signing_secrets(sb: &SecretBox, element: ElementKey, rec: &InstanceRecord) -> Vec<String> {
    webhooks::signing_entries(element)
        .iter()
        .filter_map(|k| {
            let plain = sb.entry(rec, k).ok().flatten()?;
            Some(sb.seal(plain.expose_secret(), SealedFor::webhook_secret(rec.id)))
        })
        .collect()
}

/// The OAuth app's client secret of `rec` in plain (empty when unset or unreadable).
pub fn client_secret(sb: &SecretBox, rec: &InstanceRecord) -> String {
    sb.entry(rec, "oauth.api.secret")
        .ok()
        .flatten()
        .map(|s| s.expose_secret().to_string())
        .unwrap_or_default()
}

/// Rewrites `rec`'s entries of the element's secrets index.
pub async fn sync_webhook_secrets(ctx: &Ctx, rec: &InstanceRecord) -> Result<(), ProvisionError> {
    let signing = signing_secrets(&ctx.secret_box, crate::element_of(rec)?, rec);
    let mut redis = ctx.brokers.redis.clone();
    instances::set_webhook_secrets(&mut redis, &ctx.brokers.keys, rec, &signing).await?;
    Ok(())
}

/// `PATCH /instances/{id}` ([`UpdateMode::Patch`]) and `PUT /instances/{id}`
/// ([`UpdateMode::Replace`]).
pub async fn update(
    ctx: &Ctx,
    instance_id: u64,
    user_id: u64,
    body: &Map<String, Value>,
    mode: UpdateMode,
) -> Result<Value, ProvisionError> {
    with_record_lock(ctx, instance_id, || async {
        let mut rec = owned(ctx, instance_id, Some(user_id)).await?;
        let def = catalog::find(&rec.element_key).ok_or_else(|| {
            ProvisionError::Internal(format!("unknown element {}", rec.element_key))
        })?;
        if let Some(key) = body
            .get("element")
            .and_then(|e| e.get("key"))
            .and_then(Value::as_str)
        {
            if catalog::find(key).is_none_or(|e| e.key != def.key) {
                return Err(ProvisionError::Invalid(format!(
                    "element.key {key} does not match the instance's element {}",
                    def.key
                )));
            }
        }
        let patch = collect_configuration(body)?;
        let mut merged = match mode {
            UpdateMode::Patch => rec.configuration.clone(),
            // What the body leaves out goes, but secrets: those keep their values.
            UpdateMode::Replace => rec
                .configuration
                .iter()
                .filter(|(k, _)| def.is_secret(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let mut new_secrets = Vec::new();
        for (k, v) in patch {
            if def.is_secret(&k) {
                match &v {
                    // The masked value the API showed means "unchanged".
                    Value::String(s) if s == MASK => continue,
                    Value::String(s) if !s.is_empty() => new_secrets.push((k.clone(), s.clone())),
                    _ => {}
                }
            }
            merged.insert(k, v);
        }
        if mode == UpdateMode::Replace && !body.contains_key("tags") {
            rec.tags.clear();
        }
        let events_enabled = validate_configuration(def, &mut merged, ctx.limits)?;
        crate::request::check_callback(&merged, ctx.allow_private_callbacks).await?;
        let sb = &ctx.secret_box;
        for (k, plain) in &new_secrets {
            merged.insert(
                k.clone(),
                Value::String(sb.seal(plain, SealedFor::entry(rec.id, k))),
            );
            if !rec.secret_keys.contains(k) {
                rec.secret_keys.push(k.clone());
            }
        }
        rec.secret_keys
            .retain(|k| matches!(merged.get(k), Some(Value::String(s)) if s.starts_with("enc:")));
        rec.configuration = merged;
        rec.events_enabled = events_enabled;
        if let Some(name) = body
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            rec.name = name.to_string();
        }
        match body.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                rec.tags = items
                    .iter()
                    .map(|t| t.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        ProvisionError::Invalid("tags must be an array of strings".into())
                    })?;
            }
            Some(_) => {
                return Err(ProvisionError::Invalid(
                    "tags must be an array of strings".into(),
                ))
            }
        }
        let mut redis = ctx.brokers.redis.clone();
        let keys = &ctx.brokers.keys;
        sync_webhook_secrets(ctx, &rec).await?;
        instances::put(&mut redis, keys, &rec).await?;
        crate::schedule::sync_schedule(ctx, &rec).await?;
        announce_update(ctx, &rec).await?;
        Ok(view::instance_json(&rec, None))
    })
    .await
}

/// `PUT|DELETE /instances/enabled`.
pub async fn set_enabled(
    ctx: &Ctx,
    instance_id: u64,
    enabled: bool,
) -> Result<Value, ProvisionError> {
    with_record_lock(ctx, instance_id, || async {
        let mut rec = owned(ctx, instance_id, None).await?;
        rec.disabled = !enabled;
        let mut redis = ctx.brokers.redis.clone();
        instances::put(&mut redis, &ctx.brokers.keys, &rec).await?;
        crate::schedule::sync_schedule(ctx, &rec).await?;
        announce_update(ctx, &rec).await?;
        Ok(view::instance_json(&rec, None))
    })
    .await
}

/// `DELETE /instances/{id}`: delete the provider-side webhooks Herald created, then revoke the
/// provider tokens (both best effort: the instance goes either way), forget the instance and its
/// indexes, announce it. Notifications already accepted stay in the events API.
pub async fn delete(ctx: &Ctx, instance_id: u64, user_id: u64) -> Result<Value, ProvisionError> {
    with_record_lock(ctx, instance_id, || async {
        let rec = owned(ctx, instance_id, Some(user_id)).await?;
        let rec = remove_provider_webhooks(ctx, rec).await;
        revoke(ctx, &rec).await;
        let mut redis = ctx.brokers.redis.clone();
        let keys = &ctx.brokers.keys;
        let routes: Vec<String> = rec.provider.account_id.iter().cloned().collect();
        instances::delete(&mut redis, keys, &rec, &routes).await?;
        herald_core::store::polls::forget(&mut redis, keys, rec.id).await?;
        if !rec.token_hash.is_empty() {
            instances::delete_token(&mut redis, keys, &rec.token_hash).await?;
        }
        let fact = InstanceFact::DeletedV1 {
            instance_id: rec.id,
            element_key: rec.element_key.clone(),
        };
        publish_fact(ctx, "deleted", &fact).await?;
        tracing::info!(instance_id, "instance deleted");
        Ok(json!({"id": rec.id, "deleted": true}))
    })
    .await
}

/// Deletes at the provider every webhook Herald created for the instance (a token about to
/// expire, or refused, is refreshed once). Answers the record as it now is: a refresh changed
/// its tokens, and Box's refresh tokens are single use.
async fn remove_provider_webhooks(ctx: &Ctx, rec: InstanceRecord) -> InstanceRecord {
    let mut redis = ctx.brokers.redis.clone();
    let ids = match instances::provider_webhooks(&mut redis, &ctx.brokers.keys, rec.id).await {
        Ok(ids) if !ids.is_empty() => ids,
        Ok(_) => return rec,
        Err(e) => {
            tracing::warn!(instance_id = rec.id, error = %e, "provider webhooks unknown; not removed");
            return rec;
        }
    };
    let Ok(urls) = ctx.urls.for_record(&rec) else {
        return rec;
    };
    let mut rec = rec;
    let mut refreshed = false;
    if rec.token_expiring(herald_core::time::now_ms()) {
        rec = fresh_tokens(ctx, rec).await;
        refreshed = true;
    }
    for id in ids {
        let mut result = delete_webhook(ctx, &rec, &urls, &id).await;
        if matches!(result, Err(ElementError::Unauthorized(_))) && !refreshed {
            rec = fresh_tokens(ctx, rec).await;
            refreshed = true;
            result = delete_webhook(ctx, &rec, &urls, &id).await;
        }
        match result {
            Ok(()) | Err(ElementError::Rejected { status: 404, .. }) => {
                tracing::info!(instance_id = rec.id, webhook = %id, "provider webhook deleted")
            }
            Err(e) => {
                tracing::warn!(instance_id = rec.id, webhook = %id, error = %e, "provider webhook not deleted")
            }
        }
    }
    rec
}

async fn delete_webhook(
    ctx: &Ctx,
    rec: &InstanceRecord,
    urls: &herald_elements::urls::ProviderUrls,
    id: &str,
) -> Result<(), ElementError> {
    let token = rec
        .provider
        .access_token
        .as_deref()
        .and_then(|s| ctx.secret_box.open(s, SealedFor::access_token(rec.id)).ok())
        .ok_or_else(|| ElementError::Unauthorized("no usable access token".into()))?;
    match crate::element_of(rec) {
        Ok(ElementKey::Box) => {
            boxcom::webhooks_api::delete(&ctx.http, urls, token.expose_secret(), id).await
        }
        _ => Ok(()),
    }
}

/// The record after a token refresh (we hold its lease), or as it was if that failed.
async fn fresh_tokens(ctx: &Ctx, rec: InstanceRecord) -> InstanceRecord {
    if let Err(e) = refresh_locked(ctx, rec.id, rec.provider.token_version).await {
        tracing::warn!(instance_id = rec.id, error = %e, "token refresh before removing webhooks failed");
        return rec;
    }
    let mut redis = ctx.brokers.redis.clone();
    match instances::get(&mut redis, &ctx.brokers.keys, rec.id).await {
        Ok(Some(fresh)) => fresh,
        _ => rec,
    }
}

async fn revoke(ctx: &Ctx, rec: &InstanceRecord) {
    let sb = &ctx.secret_box;
    let open = |v: Option<&str>, owner| {
        v.and_then(|s| sb.open(s, owner).ok())
            .map(|s| s.expose_secret().to_string())
    };
    let Some(access) = open(
        rec.provider.access_token.as_deref(),
        SealedFor::access_token(rec.id),
    ) else {
        return;
    };
    let refresh = open(
        rec.provider.refresh_token.as_deref(),
        SealedFor::refresh_token(rec.id),
    );
    let client_secret = client_secret(sb, rec);
    let app = OAuthApp {
        client_id: rec.config_str("oauth.api.key").unwrap_or_default(),
        client_secret: &client_secret,
        redirect_uri: rec.config_str("oauth.callback.url").unwrap_or_default(),
    };
    let (Ok(element), Ok(urls)) = (crate::element_of(rec), ctx.urls.for_record(rec)) else {
        return;
    };
    if let Err(e) =
        oauth::revoke(&ctx.http, element, &urls, &app, &access, refresh.as_deref()).await
    {
        tracing::warn!(instance_id = rec.id, error = %e, "token revocation failed; forgetting the tokens anyway");
    }
}
