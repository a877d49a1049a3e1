//! How requests prove who sends them: an account key (Shared Key signatures) or a Microsoft
//! Entra ID identity (bearer tokens from a token credential, cached and refreshed before they
//! expire).

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use azure_core::credentials::TokenCredential;
use reqwest::header::HeaderValue;

/// The OAuth scope of every storage service.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// A token is renewed this long before it expires at the latest (as Azure's own SDKs do), or
/// after half its lifetime when it lives shorter than twice this.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// After a failed renewal, the next attempt waits this long (the current token stays in use
/// while it is valid).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// A token this close to its expiry is not sent any more.
const EXPIRY_SKEW: Duration = Duration::from_secs(10);

/// What a storage request is authorized with.
#[derive(Clone)]
pub enum Credential {
    /// The decoded account key: requests carry a Shared Key signature.
    AccountKey(Vec<u8>),
    /// An Entra ID identity: requests carry a bearer token.
    Identity(Arc<AccessTokens>),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets stay out of logs.
        match self {
            Credential::AccountKey(_) => f.write_str("AccountKey(..)"),
            Credential::Identity(tokens) => write!(f, "Identity({})", tokens.identity),
        }
    }
}

impl PartialEq for Credential {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Credential::AccountKey(a), Credential::AccountKey(b)) => a == b,
            (Credential::Identity(a), Credential::Identity(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Credential {}

/// No token could be had for an identity.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not get an access token for {identity}: {reason}")]
pub struct TokenError {
    /// Which identity, and how it is reached (e.g. "managed identity (App Service endpoint)").
    pub identity: String,
    /// Why, with the identity service's own message.
    pub reason: String,
}

/// Bearer tokens for the storage scope from one token credential: the current token is reused
/// until it is due for renewal; one request renews it while the others go on with the current
/// one, and a failed renewal keeps the current token for as long as it is valid.
pub struct AccessTokens {
    credential: Arc<dyn TokenCredential>,
    identity: String,
    current: RwLock<Option<Token>>,
    renewing: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Token {
    /// `Bearer …`, marked sensitive.
    header: HeaderValue,
    expires: SystemTime,
    renew_at: SystemTime,
}

impl Token {
    fn usable(&self, now: SystemTime) -> bool {
        now + EXPIRY_SKEW < self.expires
    }
}

impl AccessTokens {
    /// Tokens from `credential`; `identity` names it in errors and logs.
    pub fn new(credential: Arc<dyn TokenCredential>, identity: impl Into<String>) -> Self {
        AccessTokens {
            credential,
            identity: identity.into(),
            current: RwLock::new(None),
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    /// Which identity these tokens are for.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The `Authorization` header value for the next request.
    pub async fn authorization(&self) -> Result<HeaderValue, TokenError> {
        let now = SystemTime::now();
        let current = self.current();
        if let Some(token) = current.as_ref().filter(|t| now < t.renew_at) {
            return Ok(token.header.clone());
        }
        // Due for renewal. While the current token is valid, only one request renews it and
        // the others do not wait; without one, every request waits for the renewal.
        let usable = current.filter(|t| t.usable(now));
        let _renewing = match &usable {
            Some(token) => match self.renewing.try_lock() {
                Ok(guard) => guard,
                Err(_) => return Ok(token.header.clone()),
            },
            None => self.renewing.lock().await,
        };
        // Another request may have renewed it meanwhile.
        if let Some(token) = self.current().filter(|t| SystemTime::now() < t.renew_at) {
            return Ok(token.header.clone());
        }
        match self.credential.get_token(&[STORAGE_SCOPE], None).await {
            Ok(fresh) => {
                let token = self.keep(fresh.token.secret(), fresh.expires_on.unix_timestamp())?;
                tracing::debug!(
                    identity = %self.identity,
                    expires_in_s = token
                        .expires
                        .duration_since(SystemTime::now())
                        .unwrap_or_default()
                        .as_secs(),
                    "got a storage access token"
                );
                Ok(token.header)
            }
            Err(e) => {
                let reason = crate::transport::with_causes(&e).replace('\n', " ");
                let Some(mut token) = usable else {
                    return Err(TokenError {
                        identity: self.identity.clone(),
                        reason,
                    });
                };
                tracing::warn!(
                    identity = %self.identity,
                    error = %reason,
                    "could not renew the storage access token; the current one is used until it expires"
                );
                token.renew_at = SystemTime::now() + RETRY_AFTER_FAILURE;
                *self.current.write().expect("token lock") = Some(token.clone());
                Ok(token.header)
            }
        }
    }

    fn current(&self) -> Option<Token> {
        self.current.read().expect("token lock").clone()
    }

    /// Keeps a fresh token and returns it.
    fn keep(&self, secret: &str, expires_unix: i64) -> Result<Token, TokenError> {
        let bad = |reason: String| TokenError {
            identity: self.identity.clone(),
            reason,
        };
        let mut header = HeaderValue::from_str(&format!("Bearer {secret}"))
            .map_err(|_| bad("the token has characters a header cannot carry".into()))?;
        header.set_sensitive(true);
        let now = SystemTime::now();
        let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(expires_unix.max(0) as u64);
        let lifetime = expires.duration_since(now).unwrap_or_default();
        let token = Token {
            header,
            expires,
            renew_at: now + lifetime.saturating_sub(REFRESH_MARGIN.min(lifetime / 2)),
        };
        *self.current.write().expect("token lock") = Some(token.clone());
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    use azure_core::credentials::{AccessToken, Secret, TokenRequestOptions};
    use azure_core::time::OffsetDateTime;

    use super::*;

    /// Issues `token-N` living `lifetime` seconds, or fails while `failing` is set.
    #[derive(Debug)]
    struct Issuer {
        issued: AtomicU32,
        lifetime: i64,
        failing: Mutex<bool>,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Issuer {
        async fn get_token(
            &self,
            scopes: &[&str],
            _: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            assert_eq!(scopes, [STORAGE_SCOPE]);
            if *self.failing.lock().unwrap() {
                return Err(azure_core::Error::with_message(
                    azure_core::error::ErrorKind::Credential,
                    "identity not assigned",
                ));
            }
            let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(AccessToken::new(
                Secret::new(format!("token-{n}")),
                OffsetDateTime::now_utc() + azure_core::time::Duration::seconds(self.lifetime),
            ))
        }
    }

    fn tokens(lifetime: i64) -> (Arc<Issuer>, AccessTokens) {
        let issuer = Arc::new(Issuer {
            issued: AtomicU32::new(0),
            lifetime,
            failing: Mutex::new(false),
        });
        let tokens = AccessTokens::new(issuer.clone(), "test identity");
        (issuer, tokens)
    }

    #[tokio::test]
    async fn a_token_is_reused_until_it_is_due() {
        let (issuer, tokens) = tokens(3600);
        for _ in 0..5 {
            let header = tokens.authorization().await.unwrap();
            assert_eq!(header.to_str().unwrap(), "Bearer token-1");
            assert!(header.is_sensitive());
        }
        assert_eq!(issuer.issued.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_short_lived_token_is_renewed_after_half_its_life() {
        let (issuer, tokens) = tokens(40);
        tokens.authorization().await.unwrap();
        let due = tokens.current().unwrap();
        let half = due.expires.duration_since(due.renew_at).unwrap();
        assert!((19..=21).contains(&half.as_secs()), "{half:?}");
        // Pretend it is due: the next request renews it.
        tokens.current.write().unwrap().as_mut().unwrap().renew_at = SystemTime::now();
        let header = tokens.authorization().await.unwrap();
        assert_eq!(header.to_str().unwrap(), "Bearer token-2");
        assert_eq!(issuer.issued.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_renewal_keeps_the_valid_token_and_a_missing_one_is_an_error() {
        let (issuer, tokens) = tokens(3600);
        tokens.authorization().await.unwrap();
        *issuer.failing.lock().unwrap() = true;
        tokens.current.write().unwrap().as_mut().unwrap().renew_at = SystemTime::now();
        let header = tokens.authorization().await.unwrap();
        assert_eq!(header.to_str().unwrap(), "Bearer token-1");
        // Not asked again right away.
        let next = tokens.current().unwrap().renew_at;
        assert!(next > SystemTime::now() + Duration::from_secs(3));

        let (issuer, tokens) = tokens_failing();
        let err = tokens.authorization().await.unwrap_err();
        assert!(err.to_string().contains("identity not assigned"), "{err}");
        assert!(err.to_string().contains("test identity"), "{err}");
        assert_eq!(issuer.issued.load(Ordering::SeqCst), 0);
    }

    fn tokens_failing() -> (Arc<Issuer>, AccessTokens) {
        let (issuer, tokens) = tokens(3600);
        *issuer.failing.lock().unwrap() = true;
        (issuer, tokens)
    }

    #[tokio::test]
    async fn concurrent_requests_without_a_token_get_one_together() {
        let (issuer, tokens) = tokens(3600);
        let tokens = Arc::new(tokens);
        let all = (0..20).map(|_| {
            let tokens = tokens.clone();
            tokio::spawn(async move { tokens.authorization().await.unwrap() })
        });
        for header in futures_join(all).await {
            assert_eq!(header.to_str().unwrap(), "Bearer token-1");
        }
        assert_eq!(issuer.issued.load(Ordering::SeqCst), 1);
    }

    async fn futures_join(
        handles: impl Iterator<Item = tokio::task::JoinHandle<HeaderValue>>,
    ) -> Vec<HeaderValue> {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}
