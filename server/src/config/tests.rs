//! The configuration as each variable sets it, read through `Config::from_lookup`.

use super::{
    connections::ConnectionLimits,
    hash_files,
    vars::{parse_duration, parse_limit},
    Config, Mode,
};
use app::auth::rate_limit::Limit;
use leptos::config::LeptosOptions;
use std::collections::HashMap;
use std::time::Duration;

const SECRET: &str = "0123456789abcdef0123456789abcdef-long";

#[test]
fn a_binary_built_with_hashed_files_links_them_unless_told_otherwise() {
    assert!(hash_files(None, Some("true")).unwrap());
    assert!(!hash_files(Some("false"), Some("true")).unwrap());
    assert!(hash_files(Some("true"), None).unwrap());
    assert!(!hash_files(None, None).unwrap());
    assert!(!hash_files(None, Some("false")).unwrap());
    let error = hash_files(Some("yes"), Some("true")).unwrap_err();
    assert!(error.to_string().contains("LEPTOS_HASH_FILES"), "{error}");
}

fn config(vars: &[(&str, &str)], mode: Mode) -> anyhow::Result<Config> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(
        |name| vars.get(name).cloned(),
        LeptosOptions::builder().output_name("taskboard").build(),
        mode,
    )
}

fn config_error(vars: &[(&str, &str)]) -> String {
    config(vars, Mode::Release).unwrap_err().to_string()
}

#[test]
fn release_mode_refuses_to_start_without_a_secret() {
    let error = config(&[], Mode::Release).unwrap_err().to_string();
    assert!(error.contains("JWT_SECRET_KEY"), "{error}");
}

#[test]
fn a_short_secret_is_refused_with_the_fix() {
    let error = config(&[("JWT_SECRET_KEY", "short")], Mode::Release)
        .unwrap_err()
        .to_string();
    assert!(error.contains("at least 32 bytes"), "{error}");
}

#[test]
fn two_different_secrets_are_refused() {
    let vars = [
        ("JWT_SECRET_KEY", SECRET),
        ("BETTER_AUTH_SECRET", "another-secret-of-enough-length-000"),
    ];
    let error = config(&vars, Mode::Release).unwrap_err().to_string();
    assert!(error.contains("differ"), "{error}");
    assert!(
        !error.contains(SECRET),
        "the secret itself must not be printed"
    );
}

#[test]
fn better_auth_names_are_accepted() {
    let config = config(
        &[
            ("BETTER_AUTH_SECRET", SECRET),
            ("BETTER_AUTH_URL", "https://tasks.example.com/app"),
        ],
        Mode::Release,
    )
    .unwrap();
    assert_eq!(config.tokens.issuer, "https://tasks.example.com/app");
    assert_eq!(config.tokens.audience, ["https://tasks.example.com/app"]);
    assert_eq!(config.site.public_origin, "https://tasks.example.com");
    assert!(config.site.secure_cookies);
}

#[test]
fn the_public_origin_is_normalised_as_browsers_send_it() {
    let config = config(
        &[
            ("JWT_SECRET_KEY", SECRET),
            (
                "BETTER_AUTH_URL",
                "https://user:pw@Tasks.Example.com:443/app",
            ),
        ],
        Mode::Release,
    )
    .unwrap();
    assert_eq!(config.site.public_origin, "https://tasks.example.com");
    let error = config_error(&[
        ("JWT_SECRET_KEY", SECRET),
        ("BETTER_AUTH_URL", "tasks.example.com"),
    ]);
    assert!(error.contains("BETTER_AUTH_URL"), "{error}");
}

#[test]
fn a_request_timeout_past_the_idle_timeout_is_refused() {
    let error = config_error(&[
        ("JWT_SECRET_KEY", SECRET),
        ("HTTP_REQUEST_TIMEOUT", "2m"),
        ("HTTP_IDLE_TIMEOUT", "1m"),
    ]);
    assert!(error.contains("HTTP_REQUEST_TIMEOUT"), "{error}");
}

#[test]
fn the_janitor_sweeps_every_ten_minutes_unless_told_otherwise() {
    let default = config(&[("JWT_SECRET_KEY", SECRET)], Mode::Release).unwrap();
    assert_eq!(default.janitor_every, Duration::from_secs(600));
    let often = config(
        &[("JWT_SECRET_KEY", SECRET), ("JANITOR_INTERVAL", "5s")],
        Mode::Release,
    )
    .unwrap();
    assert_eq!(often.janitor_every, Duration::from_secs(5));
    let error = config_error(&[("JWT_SECRET_KEY", SECRET), ("JANITOR_INTERVAL", "0")]);
    assert!(error.contains("JANITOR_INTERVAL"), "{error}");
}

#[test]
fn smtp_without_tls_is_refused_unless_it_is_on_this_machine() {
    for refused in [
        "smtp://user:hunter2@mail.example.com:587",
        "smtp://user:hunter2@mail.example.com:587?tls=opportunistic",
    ] {
        let error = config_error(&[
            ("JWT_SECRET_KEY", SECRET),
            ("SMTP_URL", refused),
            ("MAIL_FROM", "tasks@example.com"),
        ]);
        assert!(error.contains("without TLS"), "{error}");
        assert!(
            !error.contains("hunter2"),
            "the password is not repeated: {error}"
        );
    }
    for accepted in [
        "smtps://user:hunter2@mail.example.com:465",
        "smtp://user:hunter2@mail.example.com:587?tls=required",
        "smtp://127.0.0.1:2525",
    ] {
        let config = config(
            &[
                ("JWT_SECRET_KEY", SECRET),
                ("SMTP_URL", accepted),
                ("MAIL_FROM", "tasks@example.com"),
            ],
            Mode::Release,
        )
        .unwrap();
        assert!(
            !format!("{config:?}").contains("hunter2"),
            "Debug redacts it"
        );
    }
}

#[test]
fn the_email_limits_are_read_from_their_variables() {
    let config = config(
        &[
            ("JWT_SECRET_KEY", SECRET),
            ("RATE_LIMIT_EMAILS_PER_ADDRESS", "1/1m"),
            ("RATE_LIMIT_EMAILS_PER_ACCOUNT", "2/1m"),
            ("RATE_LIMIT_EMAIL_REQUESTS", "3/1m"),
        ],
        Mode::Release,
    )
    .unwrap();
    let limits = config.rate_limits;
    let attempts = [
        limits.emails_per_address.attempts,
        limits.emails_per_account.attempts,
        limits.email_requests_per_client.attempts,
    ];
    assert_eq!(attempts, [1, 2, 3]);
}

#[test]
fn smtp_needs_a_sender_and_nothing_configured_means_the_outbox() {
    let error = config_error(&[
        ("JWT_SECRET_KEY", SECRET),
        ("SMTP_URL", "smtp://127.0.0.1:25"),
    ]);
    assert!(error.contains("MAIL_FROM"), "{error}");
    let config = config(&[("JWT_SECRET_KEY", SECRET)], Mode::Release).unwrap();
    assert_eq!(config.mail.smtp_url, None);
    assert!(!config.mail.log_links, "a release build never logs links");
    assert!(config.mail.outbox_dir.ends_with("outbox"));
}

#[test]
fn api_docs_are_on_unless_turned_off() {
    let on = config(&[("JWT_SECRET_KEY", SECRET)], Mode::Release).unwrap();
    assert!(on.api_docs);
    let off = config(
        &[("JWT_SECRET_KEY", SECRET), ("API_DOCS", "false")],
        Mode::Release,
    )
    .unwrap();
    assert!(!off.api_docs);
    let error = config_error(&[("JWT_SECRET_KEY", SECRET), ("API_DOCS", "maybe")]);
    assert!(error.contains("API_DOCS=maybe"), "{error}");
}

#[test]
fn issuer_and_audience_can_be_set_explicitly() {
    let vars = [
        ("JWT_SECRET_KEY", SECRET),
        ("JWT_ISSUER", "iss"),
        ("JWT_AUDIENCE", "a, b"),
    ];
    let config = config(&vars, Mode::Release).unwrap();
    assert_eq!(config.tokens.issuer, "iss");
    assert_eq!(config.tokens.audience, ["a", "b"]);
    assert!(!config.site.secure_cookies);
}

#[test]
fn key_pair_algorithms_are_accepted_and_others_refused_with_the_choices() {
    for algorithm in ["EdDSA", "ES256", "RS256", "HS256"] {
        let config = config(
            &[("JWT_SECRET_KEY", SECRET), ("JWT_ALGORITHM", algorithm)],
            Mode::Release,
        )
        .unwrap();
        assert_eq!(
            app::auth::signing_keys::algorithm_name(config.tokens.algorithm),
            algorithm
        );
    }
    for refused in ["ES512", "none", "PS256"] {
        let error = config(
            &[("JWT_SECRET_KEY", SECRET), ("JWT_ALGORITHM", refused)],
            Mode::Release,
        )
        .unwrap_err();
        assert!(error.to_string().contains("EdDSA"), "{error}");
    }
}

#[test]
fn cors_origins_are_exact_normalised_and_https_beside_an_https_site() {
    let listed = |list: &str, site: &str| {
        config(
            &[
                ("JWT_SECRET_KEY", SECRET),
                ("BETTER_AUTH_URL", site),
                ("CORS_ALLOWED_ORIGINS", list),
            ],
            Mode::Release,
        )
        .map(|c| c.site.cors_allowed_origins)
    };
    assert_eq!(
        listed(
            "HTTP://LocalHost:3000/, https://App.example.com:443/",
            "http://api.example.com"
        )
        .unwrap(),
        ["http://localhost:3000", "https://app.example.com"]
    );
    assert!(listed("https://*.example.com", "https://api.example.com").is_err());
    assert!(listed("http://app.example.com", "https://api.example.com").is_err());
    assert!(listed("http://app.example.com", "http://api.example.com").is_ok());
    assert!(
        listed("http://localhost:3000", "https://api.example.com").is_err(),
        "in production no local page reads an https site's answers"
    );
    assert!(listed("not a url", "http://api.example.com").is_err());
}

#[test]
fn a_jwks_url_must_be_https_unless_it_is_this_machine() {
    let with = |url: &str| {
        config(
            &[("JWT_SECRET_KEY", SECRET), ("JWT_JWKS_URL", url)],
            Mode::Release,
        )
    };
    assert!(with("http://auth.example.com/api/auth/jwks").is_err());
    assert!(with("https://auth.example.com/api/auth/jwks").is_ok());
    assert!(with("http://127.0.0.1:3000/api/auth/jwks").is_ok());
}

#[test]
fn the_audit_log_is_kept_90_days_unless_told_otherwise() {
    let retention = |value: Option<&str>| {
        let mut vars = vec![("JWT_SECRET_KEY", SECRET)];
        vars.extend(value.map(|v| ("AUDIT_RETENTION", v)));
        config(&vars, Mode::Release).map(|c| c.retention.audit_secs)
    };
    assert_eq!(retention(None).unwrap(), Some(90 * 24 * 3600));
    assert_eq!(retention(Some("1y")).unwrap(), Some(31_557_600));
    assert_eq!(retention(Some("0")).unwrap(), None, "0 keeps it forever");
    assert!(retention(Some("forever")).is_err());
    assert!(
        retention(Some("90")).is_err(),
        "90 seconds is not what anyone means"
    );
}

#[test]
fn key_rotation_needs_key_pairs() {
    let error = config(
        &[("JWT_SECRET_KEY", SECRET), ("JWT_KEY_ROTATION", "30d")],
        Mode::Release,
    )
    .unwrap_err();
    assert!(error.to_string().contains("JWT_ALGORITHM=EdDSA"), "{error}");
    let config = config(
        &[
            ("JWT_SECRET_KEY", SECRET),
            ("JWT_ALGORITHM", "EdDSA"),
            ("JWT_KEY_ROTATION", "30d"),
        ],
        Mode::Release,
    )
    .unwrap();
    assert_eq!(config.tokens.key_rotation_secs, Some(30 * 24 * 3600));
}

#[test]
fn a_placeholder_secret_is_refused_with_the_fix() {
    let error = config(
        &[("JWT_SECRET_KEY", "your-32-character-secret-key-here")],
        Mode::Release,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("placeholder"), "{error}");
    assert!(error.contains("openssl rand"), "{error}");
}

#[test]
fn rate_limits_are_attempts_per_window() {
    assert_eq!(
        parse_limit("10/1m"),
        Some(Limit {
            attempts: 10,
            window: std::time::Duration::from_secs(60)
        })
    );
    assert_eq!(parse_limit("0/1m"), None);
    assert_eq!(parse_limit("10"), None);
    assert_eq!(parse_limit("ten/1m"), None);
    let error = config(
        &[("JWT_SECRET_KEY", SECRET), ("RATE_LIMIT_SIGN_IN", "lots")],
        Mode::Release,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("RATE_LIMIT_SIGN_IN"), "{error}");
}

#[test]
fn a_session_max_age_shorter_than_a_session_is_refused() {
    let error = config(
        &[
            ("JWT_SECRET_KEY", SECRET),
            ("SESSION_EXPIRES_IN", "7d"),
            ("SESSION_MAX_AGE", "1d"),
        ],
        Mode::Release,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("SESSION_MAX_AGE"), "{error}");
}

#[test]
fn connection_limits_have_defaults_and_can_be_set() {
    let defaults = config(&[("JWT_SECRET_KEY", SECRET)], Mode::Release).unwrap();
    assert_eq!(defaults.connections, ConnectionLimits::default());
    let set = config(
        &[
            ("JWT_SECRET_KEY", SECRET),
            ("HTTP_HEADER_READ_TIMEOUT", "2s"),
            ("HTTP_IDLE_TIMEOUT", "1m"),
            ("HTTP_REQUEST_TIMEOUT", "5"),
            ("MAX_CONNECTIONS", "64"),
        ],
        Mode::Release,
    )
    .unwrap();
    assert_eq!(
        set.connections,
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(5),
            max_connections: Some(64),
            max_connections_per_client: 256,
        }
    );
    let error = config(
        &[("JWT_SECRET_KEY", SECRET), ("MAX_CONNECTIONS", "none")],
        Mode::Release,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("MAX_CONNECTIONS"), "{error}");
}

#[test]
fn durations_take_the_usual_forms() {
    assert_eq!(parse_duration("900"), Some(900));
    assert_eq!(parse_duration("15m"), Some(900));
    assert_eq!(parse_duration("1h"), Some(3600));
    assert_eq!(parse_duration("7d"), Some(604_800));
    assert_eq!(parse_duration("1h 30m"), Some(5400));
    assert_eq!(parse_duration("2w"), Some(1_209_600));
    assert_eq!(parse_duration("0"), None);
    assert_eq!(parse_duration("soon"), None);
    assert_eq!(parse_duration("5x"), None);
    assert_eq!(parse_duration("-5m"), None);
    assert_eq!(parse_duration("99999999999d"), None);
}

#[test]
fn development_mode_generates_and_keeps_a_secret_beside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/app.db?mode=rwc", dir.path().display());
    let first = config(&[("DATABASE_URL", &url)], Mode::Development).unwrap();
    let second = config(&[("DATABASE_URL", &url)], Mode::Development).unwrap();
    let stored = std::fs::read_to_string(dir.path().join("jwt-secret")).unwrap();
    assert!(stored.len() >= 32);
    let token_of = |c: &Config| {
        app::auth::token::TokenKeys::new(c.tokens.clone(), app::clock::Clock::default()).issue(
            &app::auth::token::Subject {
                user_id: "u",
                email: "e",
                name: "n",
                session_id: "s",
                role: "user",
                scope: &app::auth::token::Scope::full(),
                amr: "pwd",
                email_verified: false,
                banned: false,
                image: None,
                created_at: "2026-01-01T00:00:00.000Z",
                updated_at: "2026-01-01T00:00:00.000Z",
                expires_by: i64::MAX,
            },
        )
    };
    let keys =
        app::auth::token::TokenKeys::new(second.tokens.clone(), app::clock::Clock::default());
    assert!(
        keys.verify(&token_of(&first)).is_ok(),
        "a restart keeps the same secret"
    );
}
