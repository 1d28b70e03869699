//! The `Authorization: Bearer` extractor, generic over the router's state.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use cryptr_guard_core::Verified;

use crate::error::AuthError;
use crate::state::AppState;

/// A request whose bearer token the core verified. Use it as a handler argument in any router
/// whose state gives an [`AppState`] through `FromRef`; a refused request never reaches the
/// handler and is answered with [`AuthError`].
#[derive(Clone, Debug)]
pub struct Authenticated(pub Verified);

/// The token of an `Authorization` header: `Bearer <token>` with exactly one token, the scheme
/// ASCII-case-insensitive, separated by spaces or tabs (the tutorial's `split()`).
pub fn bearer_token(parts: &Parts) -> Result<&[u8], AuthError> {
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(AuthError::MissingHeader);
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidHeader);
    }
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return Err(AuthError::MissingHeader);
    }
    let mut words = bytes
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|w| !w.is_empty());
    match (words.next(), words.next(), words.next()) {
        (Some(scheme), Some(token), None) if scheme.eq_ignore_ascii_case(b"bearer") => Ok(token),
        _ => Err(AuthError::InvalidHeader),
    }
}

impl<S> FromRequestParts<S> for Authenticated
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer_token(parts).map_err(|e| state.refused(e))?;
        state.authenticate(token).await.map(Authenticated)
    }
}
