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
            let (resealed, failed) = reseal(&ctx.secret_box, &mut rec);
            if resealed == 0 {
                // Another replica got here first, or nothing that is stale opens: no write.
                return Ok((false, failed));
            }
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

/// Re-seals every stale value of `rec` in place; returns how many were re-sealed and how many
/// did not open (left as they are: never replaced by something unsealed).
fn reseal(sb: &SecretBox, rec: &mut InstanceRecord) -> (usize, usize) {
    let id = rec.id;
    let (mut resealed, mut failed) = (0, 0);
    let mut again = |value: &mut String, owner: SealedFor<'_>| {
        if sb.is_current(value) {
            return;
        }
        match sb.open(value, owner) {
            Ok(plain) => {
                *value = sb.seal(plain.expose_secret(), owner);
                resealed += 1;
            }
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
    (resealed, failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use serde_json::json;

    fn key(hex_byte: &str) -> SecretString {
        SecretString::from(hex_byte.repeat(32))
    }

    fn record(sb: &SecretBox, secret: &str) -> InstanceRecord {
        let sealed = sb.seal(secret, SealedFor::entry(7, "oauth.api.secret"));
        serde_json::from_value(json!({
            "id": 7, "name": "n", "user_id": 1, "org_id": 1, "element_key": "dropbox",
            "tags": [], "created_date": "2026-12-04T00:00:00Z",
            "configuration": {"oauth.api.secret": sealed}, "secret_keys": ["oauth.api.secret"],
            "provider": {}, "valid": true, "invalid_reason": null, "disabled": false,
            "events_enabled": true
        }))
        .expect("record")
    }

    #[test]
    fn only_values_of_the_previous_key_are_resealed_and_a_current_record_is_left_alone() {
        let old = SecretBox::from_config(&key("11")).expect("old");
        let rotated = SecretBox::from_config(&key("22"))
            .expect("new")
            .with_previous(&key("11"))
            .expect("previous");
        let mut rec = record(&old, "app-secret");
        assert!(stale(&rotated, &rec));
        assert_eq!(reseal(&rotated, &mut rec), (1, 0));
        assert!(!stale(&rotated, &rec));
        let opened = rotated
            .open(
                rec.config_str("oauth.api.secret").expect("entry"),
                SealedFor::entry(7, "oauth.api.secret"),
            )
            .expect("opens");
        assert_eq!(opened.expose_secret(), "app-secret");
        // Done already (another replica, or this one before): nothing to write.
        assert_eq!(reseal(&rotated, &mut rec), (0, 0));
        // A value neither key opens is counted, never replaced.
        let mut foreign = record(&SecretBox::from_config(&key("33")).expect("k"), "x");
        let before = foreign.config_str("oauth.api.secret").map(str::to_string);
        assert_eq!(reseal(&rotated, &mut foreign), (0, 1));
        assert_eq!(
            foreign.config_str("oauth.api.secret").map(str::to_string),
            before
        );
    }
}
