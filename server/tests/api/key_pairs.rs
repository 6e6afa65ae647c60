//! Asymmetric tokens (CONTRACT §1b), as Better Auth's JWT plugin issues them: key pairs
//! kept in the database, their JWKS, rotation, and the verifiers Better Auth's users
//! write (PyJWT's `PyJWKClient`, jose's `createRemoteJWKSet`), before and after one.

use crate::{interop::python_with_pyjwt, support::*};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

/// A FastAPI backend's check against a JWKS, as Better Auth's documentation has it.
const PYJWK_CLIENT: &str = r#"
import json, sys
import jwt
url, issuer, audience, algorithm = sys.argv[1:5]
client = jwt.PyJWKClient(url)
subjects = []
for token in sys.argv[5:]:
    key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=[algorithm], issuer=issuer, audience=audience)
    subjects.append(claims["sub"])
print(json.dumps(subjects))
"#;

/// The same check with jose, as a Node backend (or Next.js middleware) writes it.
const JOSE_REMOTE_JWKS: &str = r#"
import { createRemoteJWKSet, jwtVerify } from "jose";
const [url, issuer, audience, algorithm, ...tokens] = process.argv.slice(1);
const keys = createRemoteJWKSet(new URL(url));
const subjects = [];
for (const token of tokens) {
  const { payload } = await jwtVerify(token, keys, { issuer, audience, algorithms: [algorithm] });
  subjects.push(payload.sub);
}
console.log(JSON.stringify(subjects));
"#;

fn end2end_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end")
}

/// The subjects each independent verifier read from `tokens`, checked against the app's
/// JWKS; panics with the verifier's own words when it refuses one. The verifiers run on
/// a thread of their own: the app they fetch the JWKS from runs on this test's.
async fn verified_independently(
    app: &TestApp,
    algorithm: &str,
    tokens: &[&str],
) -> [Vec<String>; 2] {
    let mut args = vec![
        app.url("/api/auth/jwks"),
        ISSUER.into(),
        AUDIENCE.into(),
        algorithm.into(),
    ];
    args.extend(tokens.iter().map(|t| t.to_string()));
    let outputs = tokio::task::spawn_blocking(move || {
        let python = Command::new(python_with_pyjwt())
            .args(["-c", PYJWK_CLIENT])
            .args(&args)
            .output()
            .expect("python runs");
        let node = Command::new("node")
            .current_dir(end2end_dir())
            .args(["--input-type=module", "-e", JOSE_REMOTE_JWKS])
            .args(&args)
            .output()
            .expect("node runs (scripts/setup.sh --test installs jose in end2end/)");
        [("PyJWKClient", python), ("jose", node)]
    })
    .await
    .unwrap();
    outputs.map(|(verifier, output)| {
        assert!(
            output.status.success(),
            "{verifier} refused a {algorithm} token: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("json from the verifier")
    })
}

async fn jwks(app: &TestApp) -> Vec<Value> {
    let body: Value = app.get("/api/auth/jwks").await.json().await.unwrap();
    body["keys"].as_array().unwrap().clone()
}

/// A token for `user` signed by another key than `previous_kid`'s: the app signs with a
/// rotated key once its periodic check has run.
async fn token_from_a_rotated_key(app: &TestApp, user: &TestUser, previous_kid: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        let jwt = app.jwt_for(&user.session_token).await;
        if kid(&jwt) != previous_kid {
            return jwt;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the signing key was not rotated within 15 s");
}

#[tokio::test]
async fn eddsa_tokens_verify_with_pyjwk_client_and_jose_before_and_after_a_rotation() {
    let app = TestApp::spawn_with(&[("JWT_ALGORITHM", "EdDSA"), ("JWT_KEY_ROTATION", "2s")]).await;
    let user = app.new_user().await;
    let before = user.jwt.clone();
    let [python, node] = verified_independently(&app, "EdDSA", &[&before]).await;
    assert_eq!(
        (python, node),
        (vec![user.id.clone()], vec![user.id.clone()])
    );

    let after = token_from_a_rotated_key(&app, &user, &kid(&before)).await;
    let published: Vec<Value> = jwks(&app)
        .await
        .into_iter()
        .map(|k| k["kid"].clone())
        .collect();
    assert!(
        published.contains(&json!(kid(&before))),
        "the retired key is still published"
    );
    assert!(published.contains(&json!(kid(&after))));
    let [python, node] = verified_independently(&app, "EdDSA", &[&before, &after]).await;
    assert_eq!(python, [user.id.clone(), user.id.clone()]);
    assert_eq!(node, python);
    for jwt in [&before, &after] {
        assert_eq!(app.get_tasks(jwt, "").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn es256_and_rs256_tokens_verify_independently_and_at_the_api() {
    for algorithm in ["ES256", "RS256"] {
        let app = TestApp::spawn_with(&[("JWT_ALGORITHM", algorithm)]).await;
        let user = app.new_user().await;
        let [python, node] = verified_independently(&app, algorithm, &[&user.jwt]).await;
        assert_eq!(
            (python, node),
            (vec![user.id.clone()], vec![user.id.clone()])
        );
        assert_eq!(app.get_tasks(&user.jwt, "").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn the_jwks_publishes_public_keys_with_kid_alg_and_use_and_may_be_cached() {
    let app = TestApp::spawn_with(&[("JWT_ALGORITHM", "ES256")]).await;
    let response = app.get("/api/auth/jwks").await;
    assert_eq!(
        response.headers()[header::CACHE_CONTROL],
        "public, max-age=300"
    );
    let body: Value = response.json().await.unwrap();
    let [key] = body["keys"].as_array().unwrap().as_slice() else {
        panic!("one key: {body}");
    };
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    assert!(key["kid"].is_string() && key["x"].is_string() && key["y"].is_string());
    assert!(key.get("d").is_none(), "no private part");
}

#[tokio::test]
async fn private_keys_are_stored_encrypted() {
    use sqlx::Row;
    let app = TestApp::spawn_with(&[("JWT_ALGORITHM", "EdDSA")]).await;
    let mut db = app.direct_connection().await;
    let row = sqlx::query("select private_key, public_jwk from signing_keys")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let stored: String = row.get("private_key");
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let bytes = URL_SAFE_NO_PAD.decode(&stored).expect("base64url");
    // A PKCS#8 document starts with a DER sequence (0x30); an encrypted one, with a nonce.
    let pkcs8_prefix = [0x30, 0x51, 0x02, 0x01, 0x01];
    assert!(
        !bytes.windows(5).any(|w| w == pkcs8_prefix),
        "not a plain PKCS#8 document"
    );
    assert_eq!(
        bytes.len(),
        12 + 83 + 16,
        "nonce, the 83-byte document, tag"
    );
}

#[tokio::test]
async fn a_retired_key_past_its_publication_is_refused_and_unpublished() {
    let app = TestApp::spawn_with(&[("JWT_ALGORITHM", "EdDSA"), ("JWT_KEY_ROTATION", "2s")]).await;
    let user = app.new_user().await;
    let old_kid = kid(&user.jwt);
    token_from_a_rotated_key(&app, &user, &old_kid).await;
    let mut db = app.direct_connection().await;
    sqlx::query(
        "update signing_keys set published_until = '2000-01-01T00:00:00.000Z' where id = $1",
    )
    .bind(&old_kid)
    .execute(&mut db)
    .await
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let response = app.get_tasks(&user.jwt, "").await;
        if response.status() == StatusCode::UNAUTHORIZED || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        detail(refused).await,
        "Token signed by an unknown or retired key"
    );
    assert!(!jwks(&app)
        .await
        .iter()
        .any(|k| k["kid"] == old_kid.as_str()));
}

#[tokio::test]
async fn a_key_pair_deployment_refuses_secret_signed_headerless_and_unknown_key_tokens() {
    let app = TestApp::spawn_with(&[("JWT_ALGORITHM", "EdDSA")]).await;
    let user = app.new_user().await;
    let session_id = payload(&user.jwt)["sid"].as_str().unwrap().to_owned();
    let secret_signed = mint(&claims_for(&user.id, &session_id));
    let with_header = |header: Value| with_segment(&user.jwt, 0, &header);
    let cases = [
        (secret_signed, "Token algorithm not allowed"),
        (
            with_header(json!({"alg": "EdDSA"})),
            "Token header has no 'kid'",
        ),
        (
            with_header(json!({"alg": "EdDSA", "kid": "made-up"})),
            "Token signed by an unknown or retired key",
        ),
        (
            with_header(json!({"alg": "HS256", "kid": kid(&user.jwt)})),
            "Token algorithm not allowed",
        ),
    ];
    for (token, reason) in cases {
        assert_refused(&app, &token, reason).await;
    }
}

/// Runs `server rotate-keys <flags>` on a database, off the test's thread.
async fn rotate_keys(database_url: &str, flags: &[&str]) -> std::process::Output {
    let database_url = database_url.to_owned();
    let flags: Vec<String> = flags.iter().map(|f| (*f).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let workdir = tempfile::tempdir().unwrap();
        Command::new(env!("CARGO_BIN_EXE_server"))
            .arg("rotate-keys")
            .args(&flags)
            .current_dir(workdir.path())
            .env("DATABASE_URL", &database_url)
            .env("JWT_SECRET_KEY", SECRET)
            .env("JWT_ALGORITHM", "EdDSA")
            .env("LEPTOS_OUTPUT_NAME", "taskboard")
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn server_rotate_keys_publishes_a_successor_and_the_old_keys_tokens_still_work() {
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on_with(&db.url, &[("JWT_ALGORITHM", "EdDSA")]).await;
    let user = app.new_user().await;
    let output = rotate_keys(&db.url, &[]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let keys = jwks(&app).await;
    assert_eq!(keys.len(), 2, "the successor is published at once");
    let successor = String::from_utf8_lossy(&output.stdout);
    assert!(keys
        .iter()
        .any(|k| successor.contains(k["kid"].as_str().unwrap())
            && k["kid"] != kid(&user.jwt).as_str()));
    assert_eq!(app.get_tasks(&user.jwt, "").await.status(), StatusCode::OK);
}

/// What PyJWT's `PyJWKClient` says when it refuses `token`, checked against the app's
/// JWKS as a FastAPI backend checks it; panics when it accepts it.
async fn pyjwk_client_refusal(app: &TestApp, token: &str) -> String {
    let args = [
        app.url("/api/auth/jwks"),
        ISSUER.into(),
        AUDIENCE.into(),
        "EdDSA".into(),
        token.to_owned(),
    ];
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python_with_pyjwt())
            .args(["-c", PYJWK_CLIENT])
            .args(&args)
            .output()
            .expect("python runs")
    })
    .await
    .unwrap();
    assert!(
        !output.status.success(),
        "PyJWKClient accepted it: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn server_rotate_keys_compromised_refuses_the_old_keys_tokens_at_once_and_sessions_move_on() {
    let db = TestDatabase::fresh().await;
    // A short rotation, so that the app checks its keys every few seconds (as it does
    // every minute by default), and a retired key is among those withdrawn too.
    let app = TestApp::spawn_on_with(
        &db.url,
        &[("JWT_ALGORITHM", "EdDSA"), ("JWT_KEY_ROTATION", "10s")],
    )
    .await;
    let user = app.new_user().await;
    let before = user.jwt.clone();
    assert_eq!(app.get_tasks(&before, "").await.status(), StatusCode::OK);

    let output = rotate_keys(&db.url, &["--compromised"]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains(&kid(&before)), "{said}");

    let published = jwks(&app).await;
    assert!(
        !published.iter().any(|k| k["kid"] == kid(&before).as_str()),
        "the JWKS stops listing it at once"
    );
    assert_eq!(published.len(), 1, "only the successor: {published:?}");
    let refusal = pyjwk_client_refusal(&app, &before).await;
    assert!(
        refusal.contains("Unable to find a signing key that matches"),
        "{refusal}"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let refused = loop {
        let response = app.get_tasks(&before, "").await;
        if response.status() == StatusCode::UNAUTHORIZED || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        detail(refused).await,
        "Token signed by an unknown or retired key"
    );

    let after = app.jwt_for(&user.session_token).await;
    assert_ne!(kid(&after), kid(&before));
    assert_eq!(app.get_tasks(&after, "").await.status(), StatusCode::OK);
    let [python, node] = verified_independently(&app, "EdDSA", &[&after]).await;
    assert_eq!((python, node), (vec![user.id.clone()], vec![user.id]));
}

#[tokio::test]
async fn rotations_at_once_leave_exactly_one_current_key() {
    use sqlx::Row;
    let db = TestDatabase::fresh().await;
    let app = TestApp::spawn_on_with(&db.url, &[("JWT_ALGORITHM", "EdDSA")]).await;
    let (first, second, third) = tokio::join!(
        rotate_keys(&db.url, &[]),
        rotate_keys(&db.url, &[]),
        rotate_keys(&db.url, &[])
    );
    for output in [first, second, third] {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut connection = app.direct_connection().await;
    let current: i64 =
        sqlx::query("select count(*) as current from signing_keys where retired_at is null")
            .fetch_one(&mut connection)
            .await
            .unwrap()
            .get("current");
    assert_eq!(current, 1);
}
