//! Completing a key rotation: at start, provisioning re-seals under the current
//! `HERALD_SECRET_KEY` (and for its owner, see `herald_core::crypto`) every sealed value of every
//! instance that is not yet so — values of the previous key, and values sealed before owners
//! were bound. It works under each instance's record lease and re-checks there, so several
//! replicas may sweep at once. When it logs "secrets re-sealed" with nothing left on the old
//! key, `HERALD_SECRET_KEY_PREVIOUS` can be removed.

use herald_core::crypto::{SealedFor, SecretBox};
use herald_core::model::InstanceRecord;
use herald_core::store::instances;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::error::ProvisionError;
use crate::lifecycle::{sync_webhook_secrets, with_record_lock};
use crate::Ctx;

/// Re-seals what needs it; returns (instances changed, values that did not open).
pub async fn sweep(ctx: &Ctx) -> Result<(usize, usize), ProvisionError> {
    let mut redis = ctx.brokers.redis.clone();
    let ids = instances::all_ids(&mut redis, &ctx.brokers.keys).await?;
    let (mut changed, mut unopened) = (0, 0);
    for id in ids {
        // Most records need nothing: look without the lease first.
        match instances::get(&mut redis, &ctx.brokers.keys, id).await? {
            Some(rec) if stale(&ctx.secret_box, &rec) => {}
            _ => continue,
        }
        let (did, failed) = with_record_lock(ctx, id, || async {
            let mut redis = ctx.brokers.redis.clone();
            let Some(mut rec) = instances::get(&mut redis, &ctx.brokers.keys, id).await? else {
                return Ok((false, 0));
            };
            let failed = reseal(&ctx.secret_box, &mut rec);
            instances::put(&mut redis, &ctx.brokers.keys, &rec).await?;
            sync_webhook_secrets(ctx, &rec).await?;
            Ok((true, failed))
        })
        .await?;
        changed += usize::from(did);
        unopened += failed;
    }
    Ok((changed, unopened))
}

fn sealed_values(rec: &InstanceRecord) -> impl Iterator<Item = &str> {
    let entries = rec.secret_keys.iter().filter_map(|k| rec.config_str(k));
    let tokens = [&rec.provider.access_token, &rec.provider.refresh_token]
        .into_iter()
        .filter_map(|t| t.as_deref());
    entries.chain(tokens)
}

fn stale(sb: &SecretBox, rec: &InstanceRecord) -> bool {
    sealed_values(rec).any(|v| !sb.is_current(v))
}

/// Re-seals every stale value of `rec` in place; returns how many did not open (left as they
/// are: never replaced by something unsealed).
fn reseal(sb: &SecretBox, rec: &mut InstanceRecord) -> usize {
    let id = rec.id;
    let mut failed = 0;
    let mut again = |value: &mut String, owner: SealedFor<'_>| {
        if sb.is_current(value) {
            return;
        }
        match sb.open(value, owner) {
            Ok(plain) => *value = sb.seal(plain.expose_secret(), owner),
            Err(_) => failed += 1,
        }
    };
    for key in rec.secret_keys.clone() {
        if let Some(Value::String(v)) = rec.configuration.get_mut(&key) {
            again(v, SealedFor::entry(id, &key));
        }
    }
    if let Some(t) = rec.provider.access_token.as_mut() {
        again(t, SealedFor::access_token(id));
    }
    if let Some(t) = rec.provider.refresh_token.as_mut() {
        again(t, SealedFor::refresh_token(id));
    }
    failed
}
