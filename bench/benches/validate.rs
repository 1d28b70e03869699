//! Full validation with a cached key set, side by side with the peers, on a realistic Cryptr-like
//! access token (20 claims) at 2048 and 4096 bits:
//! - `cryptr-guard`: `Validator::validate` (every SPEC step);
//! - `jsonwebtoken-aws-lc`: `jsonwebtoken` 12 `decode` with its `aws_lc_rs` backend, issuer and
//!   audience checked, the claims into a JSON map;
//! - `rsa-pipeline`: the same SPEC pipeline with the `rsa` 0.10 crate's own verify in place of
//!   the core's kernel (what the core would cost on the crate's default path).
//!
//! Also: JWKS parsing, and the raw RS256 check (key parsed from its JWK members every call).
//! Run with `bench/run.sh validate` (pinned to one core).

use std::hint::black_box;

use base64ct::{Base64UrlUnpadded, Encoding};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use cryptr_guard_core::token::Untrusted;
use cryptr_guard_core::{
    Claims, HeaderIssuer, KeySet, Options, Profile, Validator, json, verify_raw,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{Keypair, SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use sha2::Sha256;

#[path = "seeded_rng.rs"]
mod seeded_rng;
use seeded_rng::SeededRng;

const ISSUER: &str = "https://auth.cryptr.eu/t/shark-academy";
const AUDIENCE: &str = "https://api.shark-academy.example";
const OTHER_ISSUER: &str = "https://auth.cryptr.eu/t/blue-whale";

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

struct Fixture {
    bits: usize,
    kid: String,
    jwk: String,
    n_b64: String,
    e_b64: String,
    token: String,
    now: u64,
    rsa_vk: VerifyingKey<Sha256>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn fixture(bits: usize) -> Fixture {
    let mut rng = SeededRng(0xC0FFEE ^ bits as u64);
    let sk = rsa::PrivateKey::new(&mut rng, bits).expect("key generation");
    let pk = sk.to_public_key();
    let signer = SigningKey::<Sha256>::new(sk);
    let kid = format!("cryptr-{bits}");
    let (n_b64, e_b64) = (b64(&pk.n_bytes()), b64(&pk.e_bytes()));
    let jwk = format!(
        r#"{{"kty":"RSA","use":"sig","alg":"RS256","kid":"{kid}","n":"{n_b64}","e":"{e_b64}"}}"#
    );
    let now = now();
    // A Cryptr access token carries about twenty claims.
    let payload = serde_json::json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "7f6c3a8e-5b1d-4e2f-9a0c-1d2e3f4a5b6c",
        "exp": now + 3600,
        "iat": now - 60,
        "nbf": now - 60,
        "jti": "0b7a9c1e-3d5f-4a6b-8c9d-0e1f2a3b4c5d",
        "cid": "1c2d3e4f-5a6b-7c8d-9e0f-a1b2c3d4e5f6",
        "tnt": "shark-academy",
        "scp": ["openid", "email", "profile", "read:courses"],
        "email": "ada.lovelace@shark-academy.example",
        "email_verified": true,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "locale": "en-GB",
        "ver": 1,
        "jtt": "access",
        "sci": "sso",
        "dbs": "sandbox",
        "resource": "https://api.shark-academy.example/v1",
    });
    // Cryptr puts the issuer in the protected header too (SPEC §7): the SPEC §8 path reads it
    // there, before the signature.
    let header = format!(r#"{{"alg":"RS256","iss":"{ISSUER}","typ":"JWT","kid":"{kid}"}}"#);
    let signing_input = format!(
        "{}.{}",
        b64(header.as_bytes()),
        b64(payload.to_string().as_bytes())
    );
    let signature = signer.sign(signing_input.as_bytes()).to_vec();
    Fixture {
        bits,
        kid,
        jwk,
        n_b64,
        e_b64,
        token: format!("{signing_input}.{}", b64(&signature)),
        now,
        rsa_vk: signer.verifying_key(),
    }
}

/// The SPEC pipeline with the `rsa` crate's verify: header, key selection, signature, payload,
/// claims, clock, issuer and audience.
fn rsa_pipeline(token: &[u8], keys: &KeySet, vk: &VerifyingKey<Sha256>, now: u64) -> bool {
    let Ok(untrusted) = Untrusted::parse(token) else {
        return false;
    };
    let header = untrusted.header();
    if keys
        .select(header.kid.as_deref(), header.x5t.as_deref())
        .is_none()
    {
        return false;
    }
    let Ok(sig) = Base64UrlUnpadded::decode_vec(
        std::str::from_utf8(untrusted.signature_segment()).unwrap_or(""),
    ) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(&sig[..]) else {
        return false;
    };
    if vk.verify(untrusted.signing_input(), &sig).is_err() {
        return false;
    }
    let Some(payload) = cryptr_guard_core::base64url::decode(untrusted.payload_segment()) else {
        return false;
    };
    let Ok(object) = json::parse_object(&payload) else {
        return false;
    };
    let Ok(claims) = Claims::from_payload(
        &object,
        Profile::Rfc,
        &HeaderIssuer::Absent,
        Default::default(),
    ) else {
        return false;
    };
    claims.check_time(now, 0, None).is_ok()
        && claims.iss.as_deref() == Some(ISSUER)
        && claims
            .aud
            .as_ref()
            .is_some_and(|a| a.iter().any(|x| x == AUDIENCE))
}

fn bench_validate(c: &mut Criterion) {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let fixtures = [fixture(2048), fixture(4096)];
    let jwks = format!(r#"{{"keys":[{},{}]}}"#, fixtures[0].jwk, fixtures[1].jwk);
    let keys = KeySet::from_jwks(jwks.as_bytes()).expect("key set");
    let validator = Validator::new(Options::new([ISSUER], [AUDIENCE])).expect("options");
    let cryptr = Validator::new(Options::cryptr([ISSUER], [AUDIENCE])).expect("options");
    // SPEC §8: two organizations, each with its own key set (the other one's set is never read).
    let by_issuer = Validator::new(Options::cryptr([OTHER_ISSUER, ISSUER], [AUDIENCE]))
        .expect("options");

    let mut group = c.benchmark_group("validate");
    for f in &fixtures {
        let token = f.token.as_bytes();
        let verified = validator.validate(token, &keys, f.now).expect("valid");
        assert_eq!(verified.kid(), Some(f.kid.as_str()));
        group.bench_function(BenchmarkId::new("cryptr-guard", f.bits), |b| {
            b.iter(|| validator.validate(black_box(token), &keys, f.now).is_ok())
        });
        assert!(cryptr.validate(token, &keys, f.now).is_ok());
        group.bench_function(BenchmarkId::new("cryptr-guard-cryptr-profile", f.bits), |b| {
            b.iter(|| cryptr.validate(black_box(token), &keys, f.now).is_ok())
        });
        let pick = |i: usize| (i == 1).then_some(&keys);
        assert!(by_issuer.validate_by_issuer(token, f.now, pick).is_ok());
        group.bench_function(BenchmarkId::new("cryptr-guard-by-issuer", f.bits), |b| {
            b.iter(|| {
                by_issuer
                    .validate_by_issuer(black_box(token), f.now, pick)
                    .is_ok()
            })
        });

        let key = DecodingKey::from_rsa_components(&f.n_b64, &f.e_b64).expect("jsonwebtoken key");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 0;
        type Map = serde_json::Map<String, serde_json::Value>;
        jsonwebtoken::decode::<Map>(&f.token, &key, &validation).expect("jsonwebtoken accepts");
        group.bench_function(BenchmarkId::new("jsonwebtoken-aws-lc", f.bits), |b| {
            b.iter(|| jsonwebtoken::decode::<Map>(black_box(&f.token), &key, &validation).is_ok())
        });

        assert!(rsa_pipeline(token, &keys, &f.rsa_vk, f.now));
        group.bench_function(BenchmarkId::new("rsa-pipeline", f.bits), |b| {
            b.iter(|| rsa_pipeline(black_box(token), &keys, &f.rsa_vk, f.now))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("jwks_parse");
    group.bench_function("two-keys-2048+4096", |b| {
        b.iter(|| KeySet::from_jwks(black_box(jwks.as_bytes())).is_ok())
    });
    group.finish();

    let mut group = c.benchmark_group("raw_rs256");
    for f in &fixtures {
        let (message, signature) = f.token.rsplit_once('.').expect("three segments");
        let signature = Base64UrlUnpadded::decode_vec(signature).expect("signature");
        assert!(verify_raw(
            f.n_b64.as_bytes(),
            f.e_b64.as_bytes(),
            message.as_bytes(),
            &signature
        ));
        group.bench_function(BenchmarkId::new("verify_raw-with-key-parse", f.bits), |b| {
            b.iter(|| {
                verify_raw(
                    f.n_b64.as_bytes(),
                    f.e_b64.as_bytes(),
                    black_box(message.as_bytes()),
                    &signature,
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_validate);
criterion_main!(benches);
