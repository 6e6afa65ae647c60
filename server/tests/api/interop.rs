//! CONTRACT §1 against the setup this replaces: PyJWT, exactly as a FastAPI backend
//! calls it, must accept the tokens issued here, and its tokens must be accepted here.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::{path::PathBuf, process::Command};

const PYJWT_ROUND_TRIP: &str = r#"
import json, sys, time, uuid
import jwt
secret, issuer, audience, ours, user_id, session_id = sys.argv[1:7]
claims = jwt.decode(ours, secret, algorithms=["HS256"], issuer=issuer, audience=audience)
now = int(time.time())
theirs = jwt.encode(
    {"sub": user_id, "email": "fastapi@example.com", "name": "From FastAPI", "iat": now,
     "exp": now + 300, "iss": issuer, "aud": audience, "jti": str(uuid.uuid4()), "sid": session_id},
    secret, algorithm="HS256")
print(json.dumps({"sub": claims["sub"], "token": theirs}))
"#;

/// The Python with PyJWT that `scripts/setup.sh --test` installs (or `PYJWT_PYTHON`).
pub fn python_with_pyjwt() -> PathBuf {
    let python = std::env::var_os("PYJWT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/pyjwt/bin/python")
        });
    assert!(
        python.exists(),
        "PyJWT is not installed at {}: run scripts/setup.sh --test",
        python.display()
    );
    python
}

#[tokio::test]
async fn pyjwt_accepts_tokens_issued_here_and_its_tokens_are_accepted_here() {
    let app = TestApp::spawn().await;
    let user = app.new_user().await;
    let session_id = payload(&user.jwt)["sid"].as_str().unwrap().to_owned();
    let output = Command::new(python_with_pyjwt())
        .args([
            "-c",
            PYJWT_ROUND_TRIP,
            SECRET,
            ISSUER,
            AUDIENCE,
            &user.jwt,
            &user.id,
            &session_id,
        ])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "PyJWT refused our token: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).expect("json from python");
    assert_eq!(answer["sub"], user.id.as_str());
    let response = app
        .auth_get("/api/me", answer["token"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}
