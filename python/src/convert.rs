//! Python values in (tokens, lists of names, settings, the clock) and claims out.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use cryptr_guard_core::Verified;
use cryptr_guard_core::guard::{ALIASES, SETTINGS};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::errors::setting_error;
use crate::lock;

/// `now` as given, else the clock (whole seconds since the epoch).
pub(crate) fn now_or_clock(now: Option<u64>) -> u64 {
    now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    })
}

/// A `bytes` or `str` argument as a `bytes` object (a `str` is taken as UTF-8): the object itself
/// when it is `bytes`, so a token is read in place rather than copied. The object is immutable
/// and held by the caller, so its buffer may be read without the GIL.
pub(crate) fn bytes_obj<'py>(
    value: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(bytes) = value.cast::<PyBytes>() {
        return Ok(bytes.clone());
    }
    if let Ok(text) = value.cast::<PyString>() {
        if let Ok(encoded) = text.encode_utf8() {
            return Ok(encoded);
        }
        // A `str` holding lone surrogates has no UTF-8 form: `surrogatepass` keeps it as bytes
        // that the core then rejects (a token is ASCII).
        let encoded = text.call_method1("encode", ("utf-8", "surrogatepass"))?;
        return Ok(encoded.cast_into::<PyBytes>()?);
    }
    Err(PyTypeError::new_err(format!("{what} must be bytes or str")))
}

/// A `str` or a sequence of `str` (a bare `str` is one value, not its characters).
pub(crate) fn strings_arg(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<String>> {
    if let Ok(text) = value.cast::<PyString>() {
        return Ok(vec![text.to_cow()?.into_owned()]);
    }
    value
        .extract()
        .map_err(|_| PyTypeError::new_err(format!("{what} must be a str or a sequence of str")))
}

// ---------------------------------------------------------------------------------------------
// Settings: a mapping of CRYPTR_* names to Python values, as the strings the core reads.
// ---------------------------------------------------------------------------------------------

const SETTING_TYPES: &str =
    "must be a str, an int, a bool, or a list or tuple of str and int (or None for unset)";

/// One setting's value as the core reads it, by one rule: `None` is unset, a `str` is itself, a
/// `bool` is `"true"` or `"false"`, an `int` its decimal digits, a `list` or `tuple` its items
/// (`str`, `int` or `bool`, by the same rule) joined with `,`. Anything else (a float, a dict)
/// is a `SettingError` naming the key: the core decides what a value means, never Python's
/// `int()` or truthiness.
fn setting_text(key: &str, value: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if value.is_none() {
        return Ok(None);
    }
    let scalar = |item: &Bound<'_, PyAny>| -> PyResult<String> {
        if let Ok(text) = item.cast::<PyString>() {
            return Ok(text.to_cow()?.into_owned());
        }
        if let Ok(flag) = item.cast::<PyBool>() {
            return Ok(String::from(if flag.is_true() { "true" } else { "false" }));
        }
        if item.is_instance_of::<PyInt>() {
            // `__index__` gives the exact int of a subclass (an IntEnum's `str` is its name).
            return Ok(item
                .call_method0("__index__")?
                .str()?
                .to_cow()?
                .into_owned());
        }
        Err(setting_error(item.py(), key, SETTING_TYPES))
    };
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value
            .try_iter()?
            .map(|item| scalar(&item?))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Some(items.join(",")));
    }
    scalar(value).map(Some)
}

/// Every setting the core reads (its current names and their older aliases) from a mapping with
/// a `get` method (`os.environ`, Flask's `app.config`, a dict), as text.
pub(crate) fn settings_from(mapping: &Bound<'_, PyAny>) -> PyResult<BTreeMap<String, String>> {
    let names = SETTINGS
        .iter()
        .map(|(name, _)| *name)
        .chain(ALIASES.iter().map(|(_, old)| *old));
    let mut found = BTreeMap::new();
    for name in names {
        let value = mapping.call_method1("get", (name,)).map_err(|_| {
            PyTypeError::new_err("settings must be a mapping of CRYPTR_* names to values")
        })?;
        if let Some(text) = setting_text(name, &value)? {
            found.insert(String::from(name), text);
        }
    }
    Ok(found)
}

// ---------------------------------------------------------------------------------------------
// Claims: the payload handed to the user as a dict.
// ---------------------------------------------------------------------------------------------

static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static JSON_SCAN_ONCE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

pub(crate) fn json_loads(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    JSON_LOADS
        .get_or_try_init(py, || {
            py.import("json")?.getattr("loads").map(Bound::unbind)
        })
        .map(|f| f.bind(py))
}

/// The full claims of a verified token: its payload (a strict JSON object, as the core checked)
/// read by Python's own JSON decoder, so the dict is exactly `json.loads(payload)`: integers are
/// exact, a number beyond binary64 becomes a float (`inf`).
///
/// The common case goes straight to the decoder's scanner (`JSONDecoder().scan_once`, the C
/// scanner that `json.loads` ends up in), skipping `loads`' Python-level wrapping.
pub(crate) fn claims_dict<'py>(
    py: Python<'py>,
    verified: &Verified,
) -> PyResult<Bound<'py, PyAny>> {
    let text = verified.payload_str();
    let string = PyString::new(py, text);
    if text.starts_with('{') && text.ends_with('}') {
        let scan = JSON_SCAN_ONCE.get_or_try_init(py, || {
            py.import("json.decoder")?
                .getattr("JSONDecoder")?
                .call0()?
                .getattr("scan_once")
                .map(Bound::unbind)
        })?;
        if let Ok(scanned) = scan.bind(py).call1((&string, 0))
            && let Ok((claims, end)) = scanned.extract::<(Bound<'py, PyAny>, usize)>()
            && string.len().is_ok_and(|len| len == end)
        {
            return Ok(claims);
        }
    }
    let loads = json_loads(py)?;
    match loads.call1((&string,)) {
        Ok(claims) => Ok(claims),
        // An integer longer than Python's `int` string-conversion limit: keep it as a float.
        Err(_) => {
            let kwargs = PyDict::new(py);
            kwargs.set_item("parse_int", py.get_type::<PyFloat>())?;
            loads.call((&string,), Some(&kwargs))
        }
    }
}

/// A copy of claims read by [`claims_dict`]: new dicts and lists all the way down (the caller
/// may change them), the immutable values (`str`, `int`, `float`, `bool`, `None`) shared.
pub(crate) fn json_copy<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        let copy = dict.copy()?;
        for (name, member) in dict.iter() {
            if member.is_exact_instance_of::<PyDict>() || member.is_exact_instance_of::<PyList>() {
                copy.set_item(name, json_copy(&member)?)?;
            }
        }
        return Ok(copy.into_any());
    }
    if let Ok(list) = value.cast_exact::<PyList>() {
        let items = list
            .iter()
            .map(|item| json_copy(&item))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(PyList::new(value.py(), items)?.into_any());
    }
    Ok(value.clone())
}

/// The most parsed claims a [`ClaimsMemo`] keeps (it is emptied when full).
const CLAIMS_MEMO_MAX: usize = 1024;

/// Where a token's parsed claims are looked up: its length and its last 32 bytes (signature
/// bytes, in practice unique per token). Only a locator: a hit also needs the payload text to
/// match.
type MemoKey = (usize, [u8; 32]);

fn memo_key(token: &[u8]) -> MemoKey {
    let mut tail = [0u8; 32];
    let start = token.len().saturating_sub(tail.len());
    let end = token.len() - start;
    if let (Some(dst), Some(src)) = (tail.get_mut(..end), token.get(start..)) {
        dst.copy_from_slice(src);
    }
    (token.len(), tail)
}

/// The claims dicts of tokens answered through a verified-token cache, kept so that a cache hit
/// copies a dict instead of parsing the payload's JSON again. Not a policy: the core's token
/// cache decides on every call whether the token is (still) accepted; this only maps a payload
/// text, compared in full, to what Python's JSON decoder made of it. Its lock is held only to
/// look up and to insert, never while Python code runs.
#[derive(Debug)]
pub(crate) struct ClaimsMemo {
    capacity: usize,
    entries: Mutex<HashMap<MemoKey, Remembered>>,
}

/// A payload text and the claims dict Python's JSON decoder made of it.
type Remembered = (Box<str>, Py<PyAny>);

impl ClaimsMemo {
    /// A memo for a token cache of `capacity` entries (0: the memo is off too).
    pub(crate) fn new(capacity: usize) -> ClaimsMemo {
        ClaimsMemo {
            capacity: capacity.min(CLAIMS_MEMO_MAX),
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn clear(&self) {
        lock(&self.entries).clear();
    }

    /// The claims dict of `verified` (the token `token`, just accepted through a token cache): a
    /// copy of the memo's dict when it holds this payload, else parsed and remembered.
    pub(crate) fn claims<'py>(
        &self,
        py: Python<'py>,
        token: &[u8],
        verified: &Verified,
    ) -> PyResult<Bound<'py, PyAny>> {
        if self.capacity == 0 {
            return claims_dict(py, verified);
        }
        let key = memo_key(token);
        let payload = verified.payload_str();
        let remembered = lock(&self.entries)
            .get(&key)
            .filter(|(text, _)| &**text == payload)
            .map(|(_, claims)| claims.clone_ref(py));
        if let Some(claims) = remembered {
            return json_copy(claims.bind(py));
        }
        let claims = claims_dict(py, verified)?;
        let kept = json_copy(&claims)?.unbind();
        let mut entries = lock(&self.entries);
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key, (payload.into(), kept));
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::python;

    #[test]
    fn memo_keys_locate_by_length_and_tail() {
        assert_eq!(memo_key(b""), (0, [0u8; 32]));
        let short = memo_key(b"abc");
        assert_eq!(short.0, 3);
        assert_eq!(&short.1[..3], b"abc");
        let long: Vec<u8> = (0..100u8).collect();
        let (len, tail) = memo_key(&long);
        assert_eq!(len, 100);
        assert_eq!(&tail[..], &long[68..]);
    }

    #[test]
    fn settings_take_one_documented_form() {
        python(|py| {
            let text = |code: &str| -> PyResult<Option<String>> {
                let value = py.eval(&std::ffi::CString::new(code)?, None, None)?;
                setting_text("CRYPTR_X", &value)
            };
            assert_eq!(text("None").ok(), Some(None));
            assert_eq!(text("'abc'").ok(), Some(Some("abc".into())));
            assert_eq!(text("True").ok(), Some(Some("true".into())));
            assert_eq!(text("False").ok(), Some(Some("false".into())));
            assert_eq!(text("-5").ok(), Some(Some("-5".into())));
            assert_eq!(
                text("2**70").ok(),
                Some(Some("1180591620717411303424".into()))
            );
            assert_eq!(text("['a', 'b']").ok(), Some(Some("a,b".into())));
            assert_eq!(text("('a', 3, True)").ok(), Some(Some("a,3,true".into())));
            assert_eq!(text("[]").ok(), Some(Some(String::new())));
            for bad in ["2.5", "{'a': 1}", "[1.5]", "[['a']]", "b'x'"] {
                let err = text(bad).err().map(|e| e.value(py).to_string());
                assert!(
                    err.as_deref().is_some_and(|e| e.starts_with("CRYPTR_X: ")),
                    "{bad}: {err:?}"
                );
            }
            Ok(())
        });
    }

    #[test]
    fn settings_are_read_by_name_and_alias_only() {
        python(|py| {
            let mapping = PyDict::new(py);
            mapping.set_item("CRYPTR_LEEWAY", 5)?;
            mapping.set_item("CRYPTR_GUARD_ALLOW_HTTP", true)?;
            mapping.set_item("CRYPTR_AUDIENCE", vec!["a", "b"])?;
            mapping.set_item("CRYPTR_JWKS_URL", py.None())?;
            mapping.set_item("OTHER", 1.5)?;
            let found = settings_from(&mapping)?;
            let pairs: Vec<(&str, &str)> = found
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(
                pairs,
                [
                    ("CRYPTR_AUDIENCE", "a,b"),
                    ("CRYPTR_GUARD_ALLOW_HTTP", "true"),
                    ("CRYPTR_LEEWAY", "5")
                ]
            );
            Ok(())
        });
    }
}
