//! The one way to call a provider with an instance's access token, for every service: a token
//! that expires within a minute is refreshed first; a call the provider refuses for its token is
//! retried once after a refresh. Refreshes go through provisioning, which runs them single
//! flight per instance: the caller passes the token version it used, so a burst of callers that
//! all meet an expired token causes one refresh at the provider.

use std::borrow::Cow;
use std::future::Future;

use secrecy::ExposeSecret;

use crate::brokers::Brokers;
use crate::crypto::{CryptoError, SealedFor, SecretBox};
use crate::model::{InstanceRecord, RpcError};
use crate::rpc::{self, RpcCallError};
use crate::store::{instances, StoreError};
use crate::time::now_ms;

/// What a provider call's error must say for the refresh-and-retry rule.
pub trait ProviderFailure {
    /// The provider refused the access token (a 401).
    fn token_refused(&self) -> bool;
}

/// Why no live token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("instance {0} has no provider token")]
    Missing(u64),
    #[error("instance {0}'s provider token cannot be opened")]
    Sealed(u64, #[source] CryptoError),
    #[error("instance {0} was deleted")]
    Gone(u64),
    /// Provisioning refused the refresh (the provider refused the refresh token: the instance
    /// is now invalid until re-authorized).
    #[error("token refresh refused: {}", .0.message)]
    Refused(RpcError),
    /// Provisioning could not be asked: try again later.
    #[error("token refresh unavailable")]
    Unavailable(#[source] RpcCallError),
    #[error("store")]
    Store(#[from] StoreError),
}

impl TokenError {
    /// Worth retrying later without anyone's intervention.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Store(_))
    }
}

/// A provider call made with a live token failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Provider(E),
}

/// Runs `call` with the instance's access token, refreshing it as the module doc says.
pub async fn call_with_token<T, E, F, Fut>(
    brokers: &Brokers,
    secret_box: &SecretBox,
    inst: &InstanceRecord,
    mut call: F,
) -> Result<T, CallError<E>>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: ProviderFailure + std::error::Error + 'static,
{
    let mut current = Cow::Borrowed(inst);
    if current.token_expiring(now_ms()) {
        current = Cow::Owned(refreshed(brokers, &current).await?);
    }
    match call(open(secret_box, &current)?).await {
        Err(e) if e.token_refused() => {
            let fresh = refreshed(brokers, &current).await?;
            call(open(secret_box, &fresh)?)
                .await
                .map_err(CallError::Provider)
        }
        other => other.map_err(CallError::Provider),
    }
}

fn open(secret_box: &SecretBox, inst: &InstanceRecord) -> Result<String, TokenError> {
    let sealed = inst
        .provider
        .access_token
        .as_deref()
        .ok_or(TokenError::Missing(inst.id))?;
    secret_box
        .open(sealed, SealedFor::access_token(inst.id))
        .map(|t| t.expose_secret().to_string())
        .map_err(|e| TokenError::Sealed(inst.id, e))
}

/// Refreshes (unless someone already did since `inst` was read) and reads the record again.
async fn refreshed(brokers: &Brokers, inst: &InstanceRecord) -> Result<InstanceRecord, TokenError> {
    rpc::refresh_token(brokers, inst.id, inst.provider.token_version)
        .await
        .map_err(|e| match e {
            RpcCallError::Refused(r) if r.status == 404 => TokenError::Gone(inst.id),
            RpcCallError::Refused(r) => TokenError::Refused(r),
            other => TokenError::Unavailable(other),
        })?;
    let mut conn = brokers.redis.clone();
    instances::get(&mut conn, &brokers.keys, inst.id)
        .await?
        .ok_or(TokenError::Gone(inst.id))
}
