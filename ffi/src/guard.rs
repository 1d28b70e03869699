//! `cg_guard`: the sans-I/O guard of a protected resource (several issuers, each with its JWKS URL,
//! given or discovered, its key-set cache and verified-token cache), built from the `CRYPTR_*`
//! settings or from options.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::{CStr, CString, c_char, c_int, c_void};

use cryptr_guard_core::guard::{
    ALIASES, FetchResult, GuardSettings, HostConfig, IssuerSource, SETTINGS, SettingError,
};
use cryptr_guard_core::keyset_cache::CacheConfig;
use cryptr_guard_core::{Action, ConfigError, Guard, KeySetOptions};

use crate::boundary::{
    Out, array, boundary, bytes, expose, free, handle, handle_mut, optional_bytes, optional_text,
    write_text,
};
use crate::{cg_check, cg_fetch, cg_options, cg_status};

/// What a configuration error is about, when `cg_guard_from_settings` or `cg_guard_new` answers
/// `CG_INVALID_ARGUMENT`: the setting at fault (`key`, e.g. `CRYPTR_LEEWAY`; NULL with length 0
/// when the error is not one setting's, from `cg_guard_new`) and what is wrong with it and what is
/// expected (`problem`). Static text (valid forever, not NUL-terminated, print it with `%.*s`);
/// neither holds the value (a URL or an id may be a secret in some deployments).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct cg_config_error {
    /// The setting, e.g. `CRYPTR_LEEWAY`, or NULL.
    pub key: *const u8,
    /// The length of `key`.
    pub key_len: usize,
    /// What is wrong.
    pub problem: *const u8,
    /// The length of `problem`.
    pub problem_len: usize,
}

impl cg_config_error {
    fn new(key: Option<&'static str>, problem: &'static str) -> cg_config_error {
        cg_config_error {
            key: key.map_or(std::ptr::null(), str::as_ptr),
            key_len: key.map_or(0, str::len),
            problem: problem.as_ptr(),
            problem_len: problem.len(),
        }
    }
}

/// How a guard built by `cg_guard_new` fetches and caches. Start from
/// `cg_guard_settings_default` (the SPEC defaults) and change what differs.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct cg_guard_settings {
    /// The smallest RSA key accepted, 1024 to 8192 bits (default 2048).
    pub min_rsa_bits: u32,
    /// The most elements a JWKS `keys` array may have (default 64).
    pub max_keys: usize,
    /// Verified tokens cached per issuer; 0 disables the cache (default 10000).
    pub token_cache_capacity: usize,
    /// Accept plain `http` JWKS URLs, for local tests only (default false).
    pub allow_http: bool,
    /// The hard deadline of one JWKS fetch, 1 to 30 seconds (default 5).
    pub fetch_timeout: u64,
    /// The largest JWKS body accepted, in bytes (default 1 MiB).
    pub max_jwks_bytes: usize,
}

/// A host's answer to "what is the value of setting `name`?": the value as a NUL-terminated UTF-8
/// string, or NULL when the setting is not set. `getenv` with an ignored `userdata` is one. The
/// string is copied at once: it need only stay valid until `get` is called again.
pub type cg_setting_lookup =
    Option<unsafe extern "C" fn(userdata: *mut c_void, name: *const c_char) -> *const c_char>;

/// What the host does next for a check (`cg_guard_advance`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cg_action {
    /// Answer the request: `cg_check_result` (and `cg_check_answer` for a refusal).
    CG_ACTION_DONE = 0,
    /// Run `cg_check_verify(check)` without the lock, then advance again.
    CG_ACTION_VERIFY = 1,
    /// Run the fetch (`*fetch`) and report it (`cg_guard_fetch_done` / `cg_guard_fetch_failed`),
    /// then advance again. A background fetch (`cg_fetch_is_background`) may run concurrently:
    /// advance at once.
    CG_ACTION_FETCH = 2,
    /// Another request's fetch of this key set is in flight: wait until a fetch is reported or
    /// `cg_check_wait_timeout(check)` seconds have passed, then advance again.
    CG_ACTION_WAIT = 3,
}

/// How a fetch failed without an HTTP response (`cg_guard_fetch_failed`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum cg_fetch_failure {
    /// No complete response within `cg_fetch_timeout`.
    CG_FETCH_FAILURE_TIMEOUT = 0,
    /// The body was longer than `cg_fetch_max_bytes`.
    CG_FETCH_FAILURE_TOO_LARGE = 1,
    /// The connection or the HTTP exchange failed (refused, reset, TLS, a malformed response).
    CG_FETCH_FAILURE_NETWORK = 2,
}

/// The longest message `cg_guard_fetch_done` and `cg_guard_fetch_failed` write, NUL included: a
/// buffer of this size is never cut.
pub const CG_REPORT_MAX: usize = 256;

/// The guard of a protected resource: for each configured issuer, its JWKS URL, key-set cache
/// (SPEC §4) and verified-token cache, and one validator. It decides when to fetch, which key set
/// a token is checked against (SPEC §8: an issuer that is not configured is refused without any
/// fetch), when an unknown key is worth a refetch and a retry, whether the issuers are ready, and
/// what a refusal answers. The host does the HTTP, keeps the clock, and runs the RSA work
/// (`cg_check_verify`) outside its lock.
///
/// **Not thread-safe by itself**: every call that takes a `cg_guard` (readers included) must hold
/// the host's lock of it (one mutex per guard). `cg_check_verify` and the `cg_fetch_*` accessors
/// do not touch the guard and run without the lock.
#[derive(Debug)]
pub struct cg_guard {
    guard: Guard,
    /// Fetches due (`cg_guard_due_fetches`) not yet handed out.
    due: VecDeque<cryptr_guard_core::guard::Fetch>,
}

/// The settings name `name` stands for, as a static string (the lookup sees a borrowed one).
fn setting_name(name: &str) -> &'static str {
    SETTINGS
        .iter()
        .map(|(key, _)| *key)
        .chain(ALIASES.iter().map(|(_, old)| *old))
        .find(|key| *key == name)
        .unwrap_or("CRYPTR_*")
}

fn report_config(error: *mut cg_config_error, value: cg_config_error) {
    if let Ok(out) = Out::new(error) {
        out.write(value);
    }
}

/// A guard built from the `CRYPTR_*` settings, read through `get(userdata, name)` (aliases
/// included; an empty value counts as unset): `CRYPTR_BASE_URL` + `CRYPTR_TENANT_DOMAIN` (one or
/// more tenants, comma-separated: each an issuer `{base}/t/{tenant}` with its key set at
/// `{issuer}/.well-known`), or `CRYPTR_ISSUER` + `CRYPTR_JWKS_URL` (comma-separated, in the same
/// order); `CRYPTR_AUDIENCE` and/or `CRYPTR_CLIENT_IDS`; and the optional `CRYPTR_PROFILE`
/// (default `cryptr`), `CRYPTR_LEEWAY`, `CRYPTR_MAX_LIFETIME`, `CRYPTR_REQUIRED_CLAIMS`,
/// `CRYPTR_TYP`, `CRYPTR_MAX_TOKEN_LEN`, `CRYPTR_MIN_RSA_BITS`, `CRYPTR_ALLOW_HTTP`,
/// `CRYPTR_JWKS_TIMEOUT`, `CRYPTR_JWKS_MAX_BYTES`, `CRYPTR_TOKEN_CACHE_SIZE` (the same settings,
/// defaults and errors as the Flask integration and the server).
///
/// On `CG_OK`, a new guard in `*out` (free it with `cg_guard_free`). `CG_INVALID_ARGUMENT` for a
/// setting that cannot be used (a value that is not UTF-8 included): then, when `error` is not
/// NULL, `*error` names the setting and the problem (the one output written on failure: it is the
/// error's report, never a result).
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_from_settings(
    get: cg_setting_lookup,
    userdata: *mut c_void,
    out: *mut *mut cg_guard,
    error: *mut cg_config_error,
) -> cg_status {
    boundary(|| {
        let get = get.ok_or(cg_status::CG_NULL_ARGUMENT)?;
        let out = Out::new(out)?;
        let not_utf8: Cell<Option<&'static str>> = Cell::new(None);
        let lookup = |name: &str| -> Option<String> {
            let name_c = CString::new(name).ok()?;
            // SAFETY: `get` is the host's lookup, called as its type documents: `userdata` as
            // given, `name` a NUL-terminated string that lives across the call.
            let value = unsafe { get(userdata, name_c.as_ptr()) };
            if value.is_null() {
                return None;
            }
            // SAFETY: a non-NULL answer is a NUL-terminated string valid until `get` is called
            // again (the lookup's contract); it is copied before that.
            let value = unsafe { CStr::from_ptr(value) };
            match value.to_str() {
                Ok(text) => Some(text.to_owned()),
                Err(_) => {
                    if not_utf8.get().is_none() {
                        not_utf8.set(Some(setting_name(name)));
                    }
                    None
                }
            }
        };
        let built = HostConfig::from_settings(lookup).and_then(HostConfig::into_guard);
        let failure = match (not_utf8.get(), built) {
            (Some(key), _) => SettingError {
                key,
                problem: "is not UTF-8 text",
            },
            (None, Err(e)) => e,
            (None, Ok(guard)) => {
                out.give(cg_guard {
                    guard,
                    due: VecDeque::new(),
                });
                return Ok(());
            }
        };
        report_config(
            error,
            cg_config_error::new(Some(failure.key), failure.problem),
        );
        Err(cg_status::CG_INVALID_ARGUMENT)
    })
}

/// Writes the SPEC defaults into `*settings`: `min_rsa_bits` 2048, `max_keys` 64,
/// `token_cache_capacity` 10000, `allow_http` false, `fetch_timeout` 5 s, `max_jwks_bytes` 1 MiB.
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_settings_default(settings: *mut cg_guard_settings) -> cg_status {
    boundary(|| {
        let out = Out::new(settings)?;
        let defaults = GuardSettings::default();
        out.write(cg_guard_settings {
            min_rsa_bits: defaults.key_set.min_rsa_bits(),
            max_keys: defaults.key_set.capacity(),
            token_cache_capacity: defaults.token_cache_capacity,
            allow_http: defaults.allow_http,
            fetch_timeout: defaults.fetch_timeout,
            max_jwks_bytes: defaults.max_jwks_bytes,
        });
        Ok(())
    })
}

fn guard_settings(settings: &cg_guard_settings) -> Result<GuardSettings, ConfigError> {
    let key_set = KeySetOptions::default()
        .with_min_rsa_bits(settings.min_rsa_bits)?
        .with_capacity(settings.max_keys)?;
    Ok(GuardSettings {
        key_set,
        policy: CacheConfig::DEFAULT,
        token_cache_capacity: settings.token_cache_capacity,
        allow_http: settings.allow_http,
        fetch_timeout: settings.fetch_timeout,
        max_jwks_bytes: settings.max_jwks_bytes,
    })
}

/// A guard for `options` (copied) whose accepted issuers each get a key set: `jwks_urls[i]`
/// (`jwks_url_lens[i]` bytes, UTF-8) is the JWKS URL of the i-th issuer added to the options, and
/// `count` must be the number of issuers. A NULL `jwks_urls[i]` with length 0 means none: the
/// issuer's JWKS URL is then the `jwks_uri` of its OpenID configuration, which the guard asks the
/// host to fetch first from `{issuer}/.well-known/openid-configuration` (a `cg_fetch` like any
/// other; `cg_fetch_kind` says `"discovery"`), and the issuer must be an `https` URL (`http` only
/// with `allow_http`) without a query. `settings` may be NULL for the defaults.
///
/// On `CG_OK`, a new guard in `*out`. `CG_INVALID_ARGUMENT` for a configuration error (invalid
/// options, a URL that is not `https` unless `allow_http`, an issuer named twice, settings out of
/// range): then, when `error` is not NULL, `*error` says what (its `key` is NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_new(
    options: *const cg_options,
    jwks_urls: *const *const u8,
    jwks_url_lens: *const usize,
    count: usize,
    settings: *const cg_guard_settings,
    out: *mut *mut cg_guard,
    error: *mut cg_config_error,
) -> cg_status {
    boundary(|| {
        let options = &handle(options)?.options;
        let urls = array(jwks_urls, count)?;
        let lens = array(jwks_url_lens, count)?;
        // SAFETY: a non-NULL `settings` points to a `cg_guard_settings` (the caller's contract).
        let settings = unsafe { settings.as_ref() };
        let out = Out::new(out)?;
        let fail = |problem| {
            report_config(error, cg_config_error::new(None, problem));
            cg_status::CG_INVALID_ARGUMENT
        };
        let urls = urls
            .iter()
            .zip(lens)
            .map(|(&url, &len)| match optional_text(url, len) {
                Err(cg_status::CG_INVALID_ARGUMENT) => Err(fail("a JWKS URL is not UTF-8 text")),
                other => other,
            })
            .collect::<Result<Vec<Option<&str>>, cg_status>>()?;
        if urls.len() != options.issuers().len() {
            return Err(fail(
                "give one JWKS URL per issuer of the options, in the same order",
            ));
        }
        let sources = options
            .issuers()
            .iter()
            .zip(urls)
            .map(|(issuer, url)| match url {
                Some(url) => IssuerSource::new(issuer.clone(), url),
                None => IssuerSource::discover(issuer.clone()),
            })
            .collect();
        let settings = match settings {
            Some(s) => guard_settings(s).map_err(|ConfigError(problem)| fail(problem))?,
            None => GuardSettings::default(),
        };
        let guard = Guard::new(options.clone(), sources, settings)
            .map_err(|ConfigError(problem)| fail(problem))?;
        out.give(cg_guard {
            guard,
            due: VecDeque::new(),
        });
        Ok(())
    })
}

/// Frees a guard; NULL is a no-op. Checks and fetches it handed out may be freed before or after.
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_free(guard: *mut cg_guard) {
    boundary(|| free(guard))
}

/// Moves `check` one step on at `now` (seconds since the Unix epoch): `*action` says what the host
/// does next, and `*fetch` is the fetch to run for `CG_ACTION_FETCH` (a new `cg_fetch`, consumed
/// by its report), NULL for the other actions. Call it with the host's lock held; loop until
/// `CG_ACTION_DONE`:
///
/// ```c
/// for (;;) {
///   lock(); cg_guard_advance(guard, check, now(), &action, &fetch); unlock();
///   if (action == CG_ACTION_DONE) break;
///   if (action == CG_ACTION_VERIFY) {
///     cg_check_verify(check);                            /* the RSA work, no lock */
///   } else if (action == CG_ACTION_FETCH) {
///     http_get(fetch);                                   /* the HTTP, no lock */
///     lock(); cg_guard_fetch_done(guard, fetch, ...); unlock();
///   } else {                                             /* CG_ACTION_WAIT */
///     wait_for_a_fetch_report(cg_check_wait_timeout(check));
///   }
/// }
/// ```
///
/// The loop ends: a check asks for at most one blocking fetch or wait for its key set and one more
/// for an unknown key. Advancing a check that is done answers `CG_ACTION_DONE` again, with a
/// refusal.
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_advance(
    guard: *mut cg_guard,
    check: *mut cg_check,
    now: u64,
    action: *mut cg_action,
    fetch: *mut *mut cg_fetch,
) -> cg_status {
    boundary(|| {
        let guard = handle_mut(guard)?;
        let check = handle_mut(check)?;
        let action = Out::new(action)?;
        let fetch = Out::new(fetch)?;
        // A verification asked for and not run is dropped: the core answers such a check.
        check.job = None;
        check.wait = 0;
        let (next, handed) = match guard.guard.advance(&mut check.check, now) {
            Action::Done(result) => {
                check.result = Some(result);
                (cg_action::CG_ACTION_DONE, None)
            }
            Action::Verify(job) => {
                check.job = Some(job);
                (cg_action::CG_ACTION_VERIFY, None)
            }
            Action::Fetch(f) => (cg_action::CG_ACTION_FETCH, Some(cg_fetch::new(f))),
            Action::Wait(wait) => {
                check.wait = wait.timeout();
                (cg_action::CG_ACTION_WAIT, None)
            }
        };
        action.write(next);
        match handed {
            Some(f) => fetch.give(f),
            None => fetch.write(std::ptr::null_mut()),
        }
        Ok(())
    })
}

/// A fetch report's label as a static NUL-terminated string.
fn label_cstr(label: &str) -> &'static [u8] {
    match label {
        "ok" => b"ok\0",
        "no_usable_key" => b"no_usable_key\0",
        "superseded" => b"superseded\0",
        "http_status" => b"http_status\0",
        "timeout" => b"timeout\0",
        "too_large" => b"too_large\0",
        "network" => b"network\0",
        "invalid_jwks" => b"invalid_jwks\0",
        "invalid_discovery" => b"invalid_discovery\0",
        _ => b"other\0",
    }
}

/// Takes back a fetch handed to C: the caller never uses the pointer again.
fn take_fetch(fetch: *mut cg_fetch) -> Result<Box<cg_fetch>, cg_status> {
    if fetch.is_null() {
        return Err(cg_status::CG_NULL_ARGUMENT);
    }
    // SAFETY: a non-NULL fetch came from `Out::give` (`Box::into_raw`) and is consumed once (the
    // caller's contract: a reported fetch is never used again).
    Ok(unsafe { Box::from_raw(fetch) })
}

/// Reports a fetch that got an HTTP response, read whole: its status code, its `Cache-Control`
/// value `(cache_control, cache_control_len)` (NULL with length 0 when the response had none) and
/// its body. A 200 whose body is a valid JWKS installs the key set (SPEC §4: fresh for its
/// `max-age` clamped to [60 s, 24 h], else 10 min); any other status, a body over
/// `cg_fetch_max_bytes` or an invalid document counts as a failed fetch (the last good set stays in
/// use within its grace; the guard retries with backoff). A valid set without a usable key is
/// installed but leaves the issuer not ready.
///
/// `fetch` must come from this guard (`cg_guard_advance` or `cg_guard_due_fetches`): a fetch
/// reported to another guard could install its body there. The fetch is consumed, whatever the
/// status (never use it again). On `CG_OK`, `*label` is a
/// static NUL-terminated label for logs and metrics: `"ok"` (installed), `"no_usable_key"`,
/// `"superseded"` (a newer set is in use), or the failure's `"http_status"`, `"too_large"`,
/// `"invalid_jwks"`, `"invalid_discovery"` (a fetch of an OpenID configuration: `"ok"` when it
/// was installed); and, when `message` is not NULL, a human sentence for the log is written into
/// `(message, message_len)` (NUL-terminated, cut to fit as `snprintf` does; `CG_REPORT_MAX` bytes
/// always suffice). Call it with the host's lock held.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn cg_guard_fetch_done(
    guard: *mut cg_guard,
    fetch: *mut cg_fetch,
    http_status: u16,
    cache_control: *const u8,
    cache_control_len: usize,
    body: *const u8,
    body_len: usize,
    now: u64,
    label: *mut *const c_char,
    message: *mut c_char,
    message_len: usize,
) -> cg_status {
    boundary(|| {
        let fetch = take_fetch(fetch)?;
        let guard = handle_mut(guard)?;
        let label = Out::new(label)?;
        let body = bytes(body, body_len)?;
        let cache_control =
            optional_bytes(cache_control, cache_control_len)?.map(String::from_utf8_lossy);
        let result = FetchResult::Response {
            status: http_status,
            cache_control: cache_control.as_deref(),
            body,
        };
        let outcome = guard.guard.fetch_done(fetch.fetch, result, now);
        label.write(label_cstr(outcome.label()).as_ptr().cast());
        write_text(&outcome.to_string(), message, message_len);
        Ok(())
    })
}

/// Reports a fetch that got no usable HTTP response: `failure` is a `cg_fetch_failure`
/// (`CG_FETCH_FAILURE_TIMEOUT`, `_TOO_LARGE`, `_NETWORK`; any other value is
/// `CG_INVALID_ARGUMENT`, and the fetch is reported as a network failure). It counts as a failed
/// fetch. The fetch is consumed, whatever the status; `*label` and `message` as
/// `cg_guard_fetch_done`. Call it with the host's lock held.
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_fetch_failed(
    guard: *mut cg_guard,
    fetch: *mut cg_fetch,
    failure: c_int,
    now: u64,
    label: *mut *const c_char,
    message: *mut c_char,
    message_len: usize,
) -> cg_status {
    boundary(|| {
        let fetch = take_fetch(fetch)?;
        let guard = handle_mut(guard)?;
        let label = Out::new(label)?;
        let result = match failure {
            f if f == cg_fetch_failure::CG_FETCH_FAILURE_TIMEOUT as c_int => {
                Some(FetchResult::Timeout)
            }
            f if f == cg_fetch_failure::CG_FETCH_FAILURE_TOO_LARGE as c_int => {
                Some(FetchResult::TooLarge)
            }
            f if f == cg_fetch_failure::CG_FETCH_FAILURE_NETWORK as c_int => {
                Some(FetchResult::Network)
            }
            _ => None,
        };
        let outcome =
            guard
                .guard
                .fetch_done(fetch.fetch, result.unwrap_or(FetchResult::Network), now);
        if result.is_none() {
            return Err(cg_status::CG_INVALID_ARGUMENT);
        }
        label.write(label_cstr(outcome.label()).as_ptr().cast());
        write_text(&outcome.to_string(), message, message_len);
        Ok(())
    })
}

/// The fetches the policy wants started now without a request, one per call: at start-up (so the
/// first requests find their key sets) and from a periodic timer (background refreshes, and the
/// retries of an issuer that is down or served no usable key). Call it in a loop until `*fetch`
/// is NULL; run and report each fetch as one from `cg_guard_advance`, before asking for the next:
/// a reported OpenID configuration makes its key set due at once, and the same loop gets it. Call
/// it with the host's lock held.
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_due_fetches(
    guard: *mut cg_guard,
    now: u64,
    fetch: *mut *mut cg_fetch,
) -> cg_status {
    boundary(|| {
        let guard = handle_mut(guard)?;
        let fetch = Out::new(fetch)?;
        if guard.due.is_empty() {
            guard.due.extend(guard.guard.due_fetches(now));
        }
        match guard.due.pop_front() {
            Some(f) => fetch.give(cg_fetch::new(f)),
            None => fetch.write(std::ptr::null_mut()),
        }
        Ok(())
    })
}

/// Whether every configured issuer is ready at `now`: a usable key set holding a usable key (for a
/// readiness probe). False for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_is_ready(guard: *const cg_guard, now: u64) -> bool {
    boundary(|| handle(guard).is_ok_and(|g| g.guard.is_ready(now)))
}

/// The number of configured issuers (0 for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_issuer_count(guard: *const cg_guard) -> usize {
    boundary(|| handle(guard).map_or(0, |g| g.guard.validator().options().issuers().len()))
}

/// Whether issuer `index` is ready at `now` (`*ready`): a usable key set holding a usable key.
/// `CG_INVALID_ARGUMENT` when `index >= cg_guard_issuer_count`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_issuer_ready(
    guard: *const cg_guard,
    index: usize,
    now: u64,
    ready: *mut bool,
) -> cg_status {
    boundary(|| {
        let guard = handle(guard)?;
        let ready = Out::new(ready)?;
        let status = guard
            .guard
            .issuers(now)
            .nth(index)
            .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        ready.write(status.status.is_ready());
        Ok(())
    })
}

/// The issuer `index` (its exact `iss`; borrowed until `cg_guard_free`).
/// `CG_INVALID_ARGUMENT` when `index >= cg_guard_issuer_count`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_issuer_name(
    guard: *const cg_guard,
    index: usize,
    name: *mut *const u8,
    name_len: *mut usize,
) -> cg_status {
    boundary(|| {
        let guard = handle(guard)?;
        let name = Out::new(name)?;
        let name_len = Out::new(name_len)?;
        let issuer = guard
            .guard
            .validator()
            .options()
            .issuers()
            .get(index)
            .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        expose(issuer.as_bytes(), name, name_len);
        Ok(())
    })
}

/// The JWKS URL of issuer `index` (borrowed until the guard next changes: a fetch report, or
/// `cg_guard_free`): the one given, or for an issuer whose JWKS URL is discovered, the `jwks_uri`
/// of the last OpenID configuration installed (length 0 before any).
/// `CG_INVALID_ARGUMENT` when `index >= cg_guard_issuer_count`.
#[unsafe(no_mangle)]
pub extern "C" fn cg_guard_issuer_jwks_url(
    guard: *const cg_guard,
    index: usize,
    url: *mut *const u8,
    url_len: *mut usize,
) -> cg_status {
    boundary(|| {
        let guard = handle(guard)?;
        let url = Out::new(url)?;
        let url_len = Out::new(url_len)?;
        // At instant 0 (before anything was fetched, as the caches count time) a discovered URL
        // is the last one installed, however old: this asks where the key set is, not whether
        // it may be fetched now.
        let status = guard
            .guard
            .issuers(0)
            .nth(index)
            .ok_or(cg_status::CG_INVALID_ARGUMENT)?;
        expose(status.jwks_url.unwrap_or_default().as_bytes(), url, url_len);
        Ok(())
    })
}
