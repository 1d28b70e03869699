//! The fetches a guard asks its host for, and what it makes of their outcome.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::error::Error;
use crate::jwk::SkippedKey;
use crate::keyset_cache::{FetchReason, FetchTicket};

/// What a [`Fetch`] fetches. The host runs every fetch the same way (a `GET`, its status,
/// `Cache-Control` and body handed back): this is for its logs and metrics only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FetchKind {
    /// A key set (JWKS).
    KeySet,
    /// An issuer's OpenID configuration, for the URL of its key set (its `jwks_uri`).
    Discovery,
}

impl FetchKind {
    /// A short label for logs and metrics: `key_set` or `discovery`.
    pub const fn label(self) -> &'static str {
        match self {
            FetchKind::KeySet => "key_set",
            FetchKind::Discovery => "discovery",
        }
    }
}

/// A fetch the guard asks the host to run: a `GET` of [`url`](Self::url) without redirects,
/// given up at [`timeout`](Self::timeout) seconds from its start (connection to last byte),
/// reading at most [`max_bytes`](Self::max_bytes) of body. Hand it back, with what came of it,
/// to [`Guard::fetch_done`](super::Guard::fetch_done): until then the document counts as being
/// fetched, and no other fetch of it starts. It fetches a key set, or an issuer's OpenID
/// configuration ([`kind`](Self::kind)); the host does not need to know which.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "a fetch is in flight until it is reported with Guard::fetch_done"]
pub struct Fetch {
    pub(crate) kind: FetchKind,
    pub(crate) issuer: usize,
    pub(crate) key_set: usize,
    pub(crate) ticket: FetchTicket,
    pub(crate) url: String,
    pub(crate) background: bool,
    pub(crate) timeout: u64,
    pub(crate) max_bytes: usize,
}

impl Fetch {
    /// What it fetches (for logs and metrics; it changes nothing in how it is run).
    pub fn kind(&self) -> FetchKind {
        self.kind
    }

    /// The index of the (first) configured issuer whose key set this is (or whose OpenID
    /// configuration).
    pub fn issuer(&self) -> usize {
        self.issuer
    }

    /// The index of the key set (issuers that share a JWKS URL share one key set).
    pub fn key_set(&self) -> usize {
        self.key_set
    }

    /// The URL to fetch.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this fetch does not hold up the request (a refresh of a key set, or of an OpenID
    /// configuration, while a key set is in use): a host may run it in the background and go on
    /// with the request at once (or run it inline).
    pub fn is_background(&self) -> bool {
        self.background
    }

    /// Why the guard asks for it.
    pub fn reason(&self) -> FetchReason {
        self.ticket.reason()
    }

    /// The hard deadline of the whole fetch, in seconds from its start.
    pub fn timeout(&self) -> u64 {
        self.timeout
    }

    /// The largest body to read; a longer one is a failed fetch (`TooLarge`).
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }
}

/// What came of a fetch, as the host saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchResult<'a> {
    /// An HTTP response, read whole.
    Response {
        /// The status code.
        status: u16,
        /// The `Cache-Control` value, if any.
        cache_control: Option<&'a str>,
        /// The body.
        body: &'a [u8],
    },
    /// No complete response within the deadline.
    Timeout,
    /// The body was longer than [`Fetch::max_bytes`].
    TooLarge,
    /// The connection or the HTTP exchange failed (refused, reset, TLS, a malformed response).
    Network,
}

/// Why a fetch did not install a key set (or an OpenID configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchFailure {
    /// The issuer answered with another status than 200.
    Status(u16),
    /// No complete response within the deadline.
    Timeout,
    /// The body was over the limit.
    TooLarge,
    /// The connection or the exchange failed.
    Network,
    /// The body is not a valid JWKS document (SPEC §4).
    InvalidJwks(Error),
    /// The body is not an OpenID configuration the guard can use: not a strict JSON object
    /// (SPEC §6), its `issuer` is not the configured one, or its `jwks_uri` is not an `https` URL
    /// (`http` only when allowed). The reason names what is wrong, never the document's content.
    InvalidDiscovery(&'static str),
}

impl FetchFailure {
    /// A short label for metrics.
    pub const fn label(&self) -> &'static str {
        match self {
            FetchFailure::Status(_) => "http_status",
            FetchFailure::Timeout => "timeout",
            FetchFailure::TooLarge => "too_large",
            FetchFailure::Network => "network",
            FetchFailure::InvalidJwks(_) => "invalid_jwks",
            FetchFailure::InvalidDiscovery(_) => "invalid_discovery",
        }
    }
}

impl fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchFailure::Status(code) => write!(f, "the issuer answered HTTP {code}"),
            FetchFailure::Timeout => f.write_str("the issuer did not answer within the deadline"),
            FetchFailure::TooLarge => f.write_str("the document is over the size limit"),
            FetchFailure::Network => f.write_str("the issuer could not be reached"),
            FetchFailure::InvalidJwks(e) => {
                write!(
                    f,
                    "the key set is not a valid JWKS document: {}",
                    e.description()
                )
            }
            FetchFailure::InvalidDiscovery(reason) => {
                write!(f, "the OpenID configuration cannot be used: {reason}")
            }
        }
    }
}

/// What a fetch did, for the host's logs and metrics (it holds no key material but `kid`s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchReport {
    /// A key set with usable keys was installed.
    Installed {
        /// The number of usable keys.
        usable: usize,
        /// The elements of `keys` that were skipped, with their reasons.
        skipped: Vec<SkippedKey>,
    },
    /// The document is valid but holds no usable key: it is installed (the issuer's word
    /// stands), the issuer is *not ready*, and the guard fetches again on the backoff schedule.
    NoUsableKey {
        /// Every element of `keys`, with why it was skipped.
        skipped: Vec<SkippedKey>,
    },
    /// An issuer's OpenID configuration was installed: its key set is fetched from `jwks_uri`
    /// from now on.
    Discovered {
        /// The URL of the issuer's key set, from the document.
        jwks_uri: String,
    },
    /// A valid document that lost the race to a newer fetch's: nothing changed.
    Superseded,
    /// The fetch failed; the last good set (if any) stays in use within its grace.
    Failed(FetchFailure),
}

impl FetchReport {
    /// A short label for metrics: `ok`, `no_usable_key`, `superseded` or the failure's.
    pub fn label(&self) -> &'static str {
        match self {
            FetchReport::Installed { .. } | FetchReport::Discovered { .. } => "ok",
            FetchReport::NoUsableKey { .. } => "no_usable_key",
            FetchReport::Superseded => "superseded",
            FetchReport::Failed(failure) => failure.label(),
        }
    }

    /// Whether the fetch installed a document (a key set, or an OpenID configuration, whose
    /// key set is then due at once): the `ok` of [`label`](Self::label). A warm-up calls
    /// [`Guard::due_fetches`](super::Guard::due_fetches) again after a round with such a
    /// report, until a round installs nothing or nothing is due.
    pub fn installed(&self) -> bool {
        matches!(
            self,
            FetchReport::Installed { .. } | FetchReport::Discovered { .. }
        )
    }
}

impl fmt::Display for FetchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchReport::Installed { usable, skipped } => write!(
                f,
                "key set installed: {usable} usable key(s), {} skipped",
                skipped.len()
            ),
            FetchReport::NoUsableKey { skipped } => write!(
                f,
                "key set installed but NOT READY: none of its {} key(s) is usable for RS256",
                skipped.len()
            ),
            FetchReport::Discovered { jwks_uri } => {
                write!(f, "OpenID configuration installed: key set at {jwks_uri}")
            }
            FetchReport::Superseded => f.write_str("document fetched, but a newer one is in use"),
            FetchReport::Failed(failure @ FetchFailure::InvalidDiscovery(_)) => {
                write!(f, "discovery failed: {failure}")
            }
            FetchReport::Failed(failure) => write!(f, "JWKS fetch failed: {failure}"),
        }
    }
}
