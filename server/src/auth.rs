//! The `Authorization: Bearer` extractor, generic over the router's state.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use cryptr_guard_core::http::require_scopes;
use cryptr_guard_core::{Verified, bearer_token};

use crate::error::AuthError;
use crate::state::AppState;

/// A request whose bearer token the guard verified. Use it as a handler argument in any router
/// whose state gives an [`AppState`] through `FromRef`; a refused request never reaches the
/// handler and is answered with [`AuthError`].
#[derive(Clone, Debug)]
pub struct Authenticated(pub Verified);

impl<S> FromRequestParts<S> for Authenticated
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        // The core's Bearer rule, over every Authorization header the request carries.
        let values = parts
            .headers
            .get_all(AUTHORIZATION)
            .iter()
            .map(|v| v.as_bytes());
        let token = bearer_token(values).map_err(|e| state.refused(e))?;
        let verified = state.authenticate(token).await?;
        // The route's scopes, by the core's rule.
        require_scopes(verified.scopes(), state.required_scopes(parts.uri.path()))
            .map_err(AuthError::Forbidden)?;
        Ok(Authenticated(verified))
    }
}
