//! Security review findings, each with the test that failed before its fix.
#![allow(clippy::unwrap_used)]

use cryptr_guard_core::{KeySet, KeySetOptions, base64url, verify_raw};
use sha2::{Digest, Sha256};

fn vector_jwk() -> (String, String) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/examples.json"
    ))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let key = &v["jwks"]["keys"][0];
    (
        key["n"].as_str().unwrap().into(),
        key["e"].as_str().unwrap().into(),
    )
}

/// The same document under a lower `min_rsa_bits` has more usable keys: it is another key set,
/// and a verified-token cache shared by both must not answer for one with the other's entries.
#[test]
fn a_key_sets_identity_covers_its_options() {
    let (n, e) = vector_jwk();
    let doc = format!(r#"{{"keys":[{{"kty":"RSA","kid":"k","n":"{n}","e":"{e}"}}]}}"#);
    let strict = KeySet::from_jwks_with(doc.as_bytes(), &KeySetOptions::default()).unwrap();
    let lenient_options = KeySetOptions::default().with_min_rsa_bits(1024).unwrap();
    let lenient = KeySet::from_jwks_with(doc.as_bytes(), &lenient_options).unwrap();
    assert_ne!(strict.fingerprint(), lenient.fingerprint());
    let capacity = KeySetOptions::default().with_capacity(2).unwrap();
    let small = KeySet::from_jwks_with(doc.as_bytes(), &capacity).unwrap();
    assert_ne!(strict.fingerprint(), small.fingerprint());
    let again = KeySet::from_jwks_with(doc.as_bytes(), &KeySetOptions::default()).unwrap();
    assert_eq!(strict.fingerprint(), again.fingerprint());
}

/// With `e = 1`, `s^e mod n = s`: the encoded message itself "verifies" for any message.
#[test]
fn raw_verify_refuses_e_1() {
    let (n, _) = vector_jwk();
    let modulus_len = base64url::decode(n.as_bytes()).unwrap().len();
    let message = b"anything at all";
    let mut em = vec![0x00, 0x01];
    let digest_info: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    em.resize(modulus_len - digest_info.len() - 32 - 1, 0xff);
    em.push(0x00);
    em.extend_from_slice(&digest_info);
    em.extend_from_slice(&Sha256::digest(message));
    assert_eq!(em.len(), modulus_len);
    assert!(!verify_raw(n.as_bytes(), b"AQ", message, &em));
    // Nor e = 2 (even), nor a modulus under 1024 bits with a valid e.
    assert!(!verify_raw(n.as_bytes(), b"Ag", message, &em));
    let small = base64url::encode(&[0xc5; 64]);
    assert!(!verify_raw(small.as_bytes(), b"AQAB", message, &em[..64]));
}
