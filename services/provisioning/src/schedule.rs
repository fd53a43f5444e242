//! Keeping the poll schedule in step with instances: an instance polls while events are on,
//! it is enabled and valid, and its `event.vendor.type` is `polling` (on an element that
//! polls). Starting to poll (again) resets its cursor to now: what changed while it was not
//! polling is dropped, not queued.

use herald_core::model::InstanceRecord;
use herald_core::store::{polls, sync};
use herald_core::time::now_ms;
use herald_elements::catalog;
use serde_json::Value;

use crate::error::ProvisionError;
use crate::Ctx;

/// The interval in ms an instance asks for (default 15 minutes), never under the floor.
pub fn interval_ms(rec: &InstanceRecord, min_minutes: f64) -> i64 {
    let minutes = match rec.configuration.get("event.poller.refresh_interval") {
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(Value::Number(n)) => n.as_f64(),
        _ => None,
    }
    .filter(|m| m.is_finite() && *m > 0.0)
    .unwrap_or(15.0)
    .max(min_minutes);
    (minutes * 60_000.0) as i64
}

/// Whether the instance should be polled.
pub fn polls(rec: &InstanceRecord) -> bool {
    let Some(def) = catalog::find(&rec.element_key) else {
        return false;
    };
    let vendor = rec
        .config_str("event.vendor.type")
        .unwrap_or(def.default_vendor_type);
    def.events.polling && vendor == "polling" && rec.accepts_events()
}

pub async fn sync_schedule(ctx: &Ctx, rec: &InstanceRecord) -> Result<(), ProvisionError> {
    let mut redis = ctx.brokers.redis.clone();
    let keys = &ctx.brokers.keys;
    if polls(rec) {
        let interval = interval_ms(rec, ctx.limits.min_interval_minutes);
        // Spread first polls over one interval, so many instances created together do not fire
        // together.
        let jitter = (fastrand::f64() * interval as f64) as i64;
        let now = now_ms();
        let was_polling = polls::upsert(&mut redis, keys, rec.id, interval, now, jitter).await?;
        if !was_polling {
            sync::init(&mut redis, keys, rec.id, &now.to_string(), &[]).await?;
        }
    } else {
        polls::remove(&mut redis, keys, rec.id).await?;
    }
    Ok(())
}
