//! The verified-token cache policy (SPEC §4): hosts own the memory, the core decides.
//!
//! Only successes are cached, keyed by the SHA-256 of the validator's options identity and the
//! token bytes; the cache belongs to one key-set generation at a time (a new key set clears it).
//! A hit skips the signature, never the clock: `exp`, `nbf` and `iat` are checked again against
//! `now`, and an expired entry is dropped. The cache is bounded and evicts the least recently used
//! entry.

use alloc::collections::BTreeMap;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::jwk::KeySet;
use crate::validator::{Validator, Verified};

/// The default number of entries.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// What identifies a cached verification: the token under one validator's options, and the key
/// set that verified it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenKey {
    digest: [u8; 32],
    key_set: [u8; 32],
}

impl TokenKey {
    /// The key of `token` validated by `validator` against `keys`.
    pub fn new(validator: &Validator, keys: &KeySet, token: &[u8]) -> TokenKey {
        let mut hash = Sha256::new();
        hash.update(validator.fingerprint());
        hash.update(token);
        TokenKey {
            digest: hash.finalize().into(),
            key_set: *keys.fingerprint(),
        }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    last_used: u64,
    verified: Verified,
}

/// Counters for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Lookups answered from the cache (successes and clock failures).
    pub hits: u64,
    /// Lookups that found nothing.
    pub misses: u64,
    /// Entries evicted to make room.
    pub evictions: u64,
}

/// A bounded cache of verified tokens (capacity 0 disables it).
#[derive(Clone, Debug)]
pub struct TokenCache {
    capacity: usize,
    key_set: Option<[u8; 32]>,
    entries: BTreeMap<[u8; 32], Entry>,
    recency: BTreeMap<u64, [u8; 32]>,
    clock: u64,
    stats: Stats,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new(DEFAULT_CAPACITY)
    }
}

impl TokenCache {
    /// A cache of at most `capacity` entries; 0 disables caching.
    pub fn new(capacity: usize) -> TokenCache {
        TokenCache {
            capacity,
            key_set: None,
            entries: BTreeMap::new(),
            recency: BTreeMap::new(),
            clock: 0,
            stats: Stats::default(),
        }
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.recency.clear();
    }

    fn switch_key_set(&mut self, key_set: &[u8; 32]) {
        if self.key_set.as_ref() != Some(key_set) {
            self.clear();
            self.key_set = Some(*key_set);
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock = self.clock.wrapping_add(1);
        self.clock
    }

    /// The cached answer for `key` at `now`, if any: the verified token when its clock checks
    /// still hold, or the clock error (the entry is then dropped).
    pub fn get(
        &mut self,
        key: &TokenKey,
        validator: &Validator,
        now: u64,
    ) -> Option<Result<Verified, Error>> {
        self.switch_key_set(&key.key_set);
        let tick = self.tick();
        let Some(entry) = self.entries.get_mut(&key.digest) else {
            self.stats.misses += 1;
            return None;
        };
        self.stats.hits += 1;
        self.recency.remove(&entry.last_used);
        if let Err(e) = validator.recheck_time(&entry.verified, now) {
            self.entries.remove(&key.digest);
            return Some(Err(e));
        }
        entry.last_used = tick;
        self.recency.insert(tick, key.digest);
        Some(Ok(entry.verified.clone()))
    }

    /// Caches a successful verification.
    pub fn insert(&mut self, key: &TokenKey, verified: &Verified) {
        if self.capacity == 0 {
            return;
        }
        self.switch_key_set(&key.key_set);
        let tick = self.tick();
        if let Some(old) = self.entries.remove(&key.digest) {
            self.recency.remove(&old.last_used);
        }
        while self.entries.len() >= self.capacity {
            let Some((_, oldest)) = self.recency.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
            self.stats.evictions += 1;
        }
        self.entries.insert(
            key.digest,
            Entry {
                last_used: tick,
                verified: verified.clone(),
            },
        );
        self.recency.insert(tick, key.digest);
    }
}

impl Validator {
    /// [`Validator::validate`] through a verified-token cache: a hit skips the signature and
    /// re-checks the clock; a success is cached.
    pub fn validate_cached(
        &self,
        cache: &mut TokenCache,
        token: &[u8],
        keys: &KeySet,
        now: u64,
    ) -> Result<Verified, Error> {
        if cache.capacity() == 0 {
            return self.validate(token, keys, now);
        }
        let key = TokenKey::new(self, keys, token);
        if let Some(answer) = cache.get(&key, self, now) {
            return answer;
        }
        let verified = self.validate(token, keys, now)?;
        cache.insert(&key, &verified);
        Ok(verified)
    }
}
