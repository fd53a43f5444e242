//! Refreshing an instance's access token, one refresh per instance at a time across every
//! replica.
//!
//! Callers pass the token version they used. Under the instance's `record` lease, a version
//! newer than theirs means someone else already refreshed: nothing is sent to the provider.
//! Otherwise the refresh grant is presented and the new pair is stored (Box's refresh tokens are
//! single use, so a second refresh with the old one would fail and kill the instance). A
//! refresh token the provider refuses marks the instance invalid, with the reason, and is not
//! retried.

use herald_core::crypto::SealedFor;
use herald_core::model::InstanceRecord;
use herald_core::store::instances;
use herald_core::time::now_ms;
use herald_elements::connect;
use herald_elements::oauth::{self, Grant, OAuthApp};
use herald_elements::ElementError;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::error::ProvisionError;
use crate::lifecycle::with_record_lock;
use crate::Ctx;

pub async fn refresh(
    ctx: &Ctx,
    instance_id: u64,
    seen_version: u64,
) -> Result<Value, ProvisionError> {
    with_record_lock(ctx, instance_id, || {
        refresh_locked(ctx, instance_id, seen_version)
    })
    .await
}

/// [`refresh`], for a caller that already holds the record lease.
pub(crate) async fn refresh_locked(
    ctx: &Ctx,
    instance_id: u64,
    seen_version: u64,
) -> Result<Value, ProvisionError> {
    let mut redis = ctx.brokers.redis.clone();
    let keys = &ctx.brokers.keys;
    let mut rec = instances::get(&mut redis, keys, instance_id)
        .await?
        .ok_or_else(|| ProvisionError::NotFound(format!("No instance {instance_id}")))?;
    if rec.provider.token_version > seen_version {
        return Ok(json!({"tokenVersion": rec.provider.token_version, "refreshed": false}));
    }
    if !rec.valid {
        return Err(ProvisionError::InstanceInvalid(invalid_message(&rec)));
    }
    let sb = &ctx.secret_box;
    let client_secret = crate::lifecycle::client_secret(sb, &rec);
    let refresh_token = rec
        .provider
        .refresh_token
        .as_deref()
        .and_then(|t| sb.open(t, SealedFor::refresh_token(rec.id)).ok())
        .map(|t| t.expose_secret().to_string());
    let app = OAuthApp {
        client_id: rec.config_str("oauth.api.key").unwrap_or_default(),
        client_secret: &client_secret,
        redirect_uri: rec.config_str("oauth.callback.url").unwrap_or_default(),
    };
    let element = crate::element_of(&rec)?;
    let urls = ctx
        .urls
        .for_record(&rec)
        .map_err(|e| ProvisionError::Internal(e.to_string()))?;
    let grant = match &refresh_token {
        Some(rt) => Grant::Refresh(rt),
        None if connect::code_optional(element) => Grant::ClientCredentials,
        None => {
            let reason =
                "The provider issued no refresh token; re-authorize the instance".to_string();
            mark_invalid(ctx, &mut rec, &reason).await?;
            return Err(ProvisionError::InstanceInvalid(reason));
        }
    };
    match oauth::token(&ctx.http, element, &urls, &app, grant).await {
        Ok(ts) => {
            rec.provider.access_token =
                Some(sb.seal(&ts.access_token, SealedFor::access_token(rec.id)));
            if let Some(rt) = &ts.refresh_token {
                rec.provider.refresh_token = Some(sb.seal(rt, SealedFor::refresh_token(rec.id)));
            }
            rec.provider.expires_at_ms = ts.expires_in_secs.map(|s| now_ms() + (s as i64) * 1000);
            rec.provider.token_version += 1;
            instances::put(&mut redis, keys, &rec).await?;
            tracing::info!(
                instance_id,
                version = rec.provider.token_version,
                "access token refreshed"
            );
            Ok(json!({"tokenVersion": rec.provider.token_version, "refreshed": true}))
        }
        Err(ElementError::Rejected { message, .. } | ElementError::Unauthorized(message)) => {
            let reason = format!("The provider refused the refresh token: {message}");
            mark_invalid(ctx, &mut rec, &reason).await?;
            Err(ProvisionError::InstanceInvalid(reason))
        }
        Err(e) => Err(ProvisionError::ProviderUnavailable(e.to_string())),
    }
}

fn invalid_message(rec: &InstanceRecord) -> String {
    format!(
        "Instance {} is invalid: {}",
        rec.id,
        rec.invalid_reason.as_deref().unwrap_or("re-authorize it")
    )
}

async fn mark_invalid(
    ctx: &Ctx,
    rec: &mut InstanceRecord,
    reason: &str,
) -> Result<(), ProvisionError> {
    rec.valid = false;
    rec.invalid_reason = Some(reason.to_string());
    let mut redis = ctx.brokers.redis.clone();
    instances::put(&mut redis, &ctx.brokers.keys, rec).await?;
    tracing::warn!(
        instance_id = rec.id,
        "instance marked invalid: refresh refused"
    );
    Ok(())
}
