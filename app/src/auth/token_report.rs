//! A token judged check by check, in words: what `server token decode` prints.
//!
//! Nothing here decides anything. The verdicts are those of `TokenKeys::explain_at` (the
//! checks `verify_at` runs for the API, each asked even after another failed) and of the
//! database on the token's session and user (`extract::stored_standing`, what the API
//! asks whenever memory cannot answer); this module only puts them into words. The
//! secret is never among them.
//!
//! Whoever pastes a token here may have been handed it by an attacker, so the report
//! takes nothing from it on trust: the database is asked about its session and user only
//! when the signature is genuine (a forged token would otherwise map any user id to an
//! email), and every value it carries is printed escaped, so a claim cannot write a line
//! such as `verdict: accepted` of its own, or a terminal escape.

use crate::{
    auth::{
        api_tokens::in_words,
        revocations::Standing,
        signing_keys::algorithm_name,
        store::users,
        token::{Audience, Checked, ClaimChecks, Explanation, KeySource, TokenError, TokenKeys},
        web::extract::{refusal, stored_standing},
    },
    clock::Timestamp,
    db::Pool,
    error::AppError,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

/// What `decode` prints.
pub struct Report {
    /// The header and the claims as the token carries them (checked or not), pretty JSON.
    pub header: String,
    pub claims: String,
    /// One line per check: `name: ok, …` or `name: FAILS, …`.
    pub checks: Vec<String>,
    /// What the API answers the token, `None` when it accepts it.
    pub refusal: Option<AppError>,
}

/// `token` judged by this server's configuration (`keys`) and database at `now`.
pub async fn report(
    db: &Pool,
    keys: &TokenKeys,
    token: &str,
    at_time: Timestamp,
) -> Result<Report, sqlx::Error> {
    let now = at_time.unix_secs();
    let token = token.trim();
    let segment = |n| {
        token
            .split('.')
            .nth(n)
            .and_then(pretty_json)
            .unwrap_or_else(|| "(not base64url JSON)".to_owned())
    };
    let (header, claims) = (segment(0), segment(1));
    let explanation = match keys.explain_at(token, now) {
        Ok(explanation) => explanation,
        Err(e) => {
            return Ok(Report {
                header,
                claims,
                checks: vec![format!(
                    "format: FAILS, not a JWT ({e}): a JWT is three base64url segments, \
                     header.payload.signature, of at most 8 KiB"
                )],
                refusal: Some(AppError::InvalidToken(e.to_string())),
            })
        }
    };
    let verified = explanation.clone().verdict();
    let genuine = matches!(explanation.signature, Some(Ok(())));
    let signed = explanation.clone().signed_claims();
    let mut checks = vec![signature_line(keys, &explanation)];
    let mut standing = None;
    match &explanation.claims {
        Err(e) => checks.push(format!(
            "claims: FAILS, {e}: the payload is not a base64url JSON object"
        )),
        Ok(claimed) => {
            checks.extend(claim_lines(keys, claimed, now));
            if !genuine {
                checks.extend([
                    "session: not checked, the signature fails: a token no key here signed \
                     is not looked up"
                        .to_owned(),
                    "user: not checked, the signature fails".to_owned(),
                ]);
            } else if let Some(stated) = signed {
                checks.push(scope_line(stated.scope.as_deref()));
                match stated.sid.as_deref() {
                    Some(sid) => {
                        let (found, live) = stored_standing(db, sid, &stated, at_time).await?;
                        checks.push(match live {
                            Some(live) => {
                                format!("session: ok, live until {}", at(live.expires_at, now))
                            }
                            None => "session: FAILS, ended (signed out, revoked, expired, or \
                                     never one of this server's)"
                                .to_owned(),
                        });
                        checks.push(match users::find_user(db, &stated.sub).await? {
                            None => "user: FAILS, no such user".to_owned(),
                            Some(user) if user.banned => {
                                format!("user: FAILS, disabled ({})", escaped(&user.email))
                            }
                            Some(user) => {
                                format!("user: ok, enabled ({})", escaped(&user.email))
                            }
                        });
                        if found == Standing::AccountChanged {
                            checks.push(
                                "account: FAILS, changed since the token was minted (its role, \
                                 say): fetch a new token"
                                    .to_owned(),
                            );
                        }
                        standing = Some(found);
                    }
                    None => checks.push(
                        "session: none, another issuer's token names no session here: it is \
                         good until it expires (unless its user is disabled here)"
                            .to_owned(),
                    ),
                }
            }
        }
    }
    let refusal = match verified {
        Err(e) => Some(AppError::InvalidToken(e.to_string())),
        Ok(_) => standing.and_then(refusal),
    };
    checks.push(match &refusal {
        None => "verdict: accepted".to_owned(),
        Some(e) => format!("verdict: refused, the API answers {} \"{e}\"", e.status()),
    });
    Ok(Report {
        header,
        claims,
        checks,
        refusal,
    })
}

/// Which key the header leads to, and whether the signature is genuine under it.
fn signature_line(keys: &TokenKeys, explanation: &Explanation) -> String {
    let configured = algorithm_name(keys.settings().algorithm);
    match (&explanation.key, &explanation.signature) {
        (Ok((algorithm, source)), Some(Ok(()))) => format!(
            "signature: ok, {} with {}",
            algorithm_name(*algorithm),
            key_name(source)
        ),
        (Ok((algorithm, source)), Some(Err(e))) => format!(
            "signature: FAILS, {e}: not signed with {} ({}); another secret or key signed it, \
             or it was changed after",
            key_name(source),
            algorithm_name(*algorithm)
        ),
        (Ok(_), None) => format!("signature: FAILS, {}", TokenError::UnknownKey),
        (Err(e), _) => {
            let why = match e {
                TokenError::Algorithm => {
                    format!("JWT_ALGORITHM is {configured}, and only it is accepted")
                }
                TokenError::UnknownKey => {
                    "no published key of this server (or the trusted issuer) has its kid".into()
                }
                TokenError::MissingKeyId => format!("{configured} tokens name their key"),
                TokenError::HeaderParameter(_) => {
                    "a token may not name or carry its own key".into()
                }
                _ => "the header is not a base64url JSON object".into(),
            };
            format!("signature: FAILS, not checked: {e}: {why}")
        }
    }
}

fn key_name(source: &KeySource) -> String {
    match source {
        KeySource::Secret => "the shared secret".to_owned(),
        KeySource::Own(kid) => format!("this server's key pair {}", quoted(kid)),
        KeySource::Remote(kid) => {
            format!("the trusted issuer's key {} (JWT_JWKS_URL)", quoted(kid))
        }
    }
}

/// A line per claim rule, in the order the API checks them.
fn claim_lines(keys: &TokenKeys, claims: &ClaimChecks, now: i64) -> Vec<String> {
    let settings = keys.settings();
    let leeway = settings.leeway_secs;
    let mut lines = vec![
        line("exp", &claims.exp, |exp, passed| {
            // Saturating: a hostile exp (i64::MIN, -1e300) must not overflow.
            let when = if *exp > now {
                format!("in {}", in_words(exp.saturating_sub(now)))
            } else {
                format!("expired {} ago", in_words(now.saturating_sub(*exp)))
            };
            let within = if passed && *exp <= now {
                format!(", within the leeway of {leeway} s")
            } else {
                String::new()
            };
            format!("{} ({when}{within})", utc(*exp))
        }),
        line("nbf", &claims.nbf, |nbf, _| at(*nbf, now)),
        line("iat", &claims.iat, |iat, _| at(*iat, now)),
    ];
    if let Err(e) = &claims.lifetime {
        lines.push(format!("lifetime: FAILS, {e}"));
    }
    lines.push(line("issuer", &claims.iss, |iss, passed| {
        if passed {
            format!("{} is JWT_ISSUER", quoted(iss))
        } else {
            format!(
                "{} does not match JWT_ISSUER '{}'",
                quoted(iss),
                settings.issuer
            )
        }
    }));
    lines.push(line("audience", &claims.aud, |aud, passed| {
        let aud = match aud {
            Audience::One(one) => quoted(one),
            Audience::Many(many) => many
                .iter()
                .map(|one| quoted(one))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let configured = settings.audience.join(",");
        if passed {
            format!("{aud} names one of JWT_AUDIENCE '{configured}'")
        } else {
            format!("{aud} names none of JWT_AUDIENCE '{configured}'")
        }
    }));
    lines.push(line("subject", &claims.sub, |sub, _| quoted(sub)));
    lines.push(line("sid", &claims.sid, |sid, _| quoted(sid)));
    lines
}

/// A value the token carries, in quotes, escaped (`\n`, `\u{1b}`, `\u{202e}`, `\'`) so
/// that it stays on its line, inside its quotes, and in the order it is written.
fn quoted(text: &str) -> String {
    format!("'{}'", escaped(text))
}

/// `text` as Rust writes it escaped (`\n`, `\'`, `\u{1b}`), and with every character
/// `must_escape` names written `\u{202e}` too: which characters `escape_debug` leaves as
/// they are is the standard library's choice, and may change with its Unicode tables.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.escape_debug() {
        if must_escape(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// What a value may not put on a terminal as it is: controls (C0, DEL, C1), which
/// terminals obey as commands; format characters (Cf: the bidi embeddings, overrides and
/// isolates U+202A to U+202E and U+2066 to U+2069, the marks and zero-width characters
/// U+200B to U+200F, the byte order mark), which reorder or hide the text around them, so
/// a claim could show the block in another order than it has; and the line and paragraph
/// separators (Zl U+2028, Zp U+2029), which some terminals and viewers break lines at.
fn must_escape(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.is_control()
        || matches!(
            c.general_category(),
            GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
}

/// `name: ok, …` or `name: FAILS, …`, saying the claim's value, or why there is none.
fn line<T>(name: &str, checked: &Checked<T>, say: impl FnOnce(&T, bool) -> String) -> String {
    let passed = checked.verdict.is_ok();
    let said = match (&checked.value, &checked.verdict) {
        (Some(value), _) => say(value, passed),
        (None, Ok(())) => "absent".to_owned(),
        (None, Err(e)) => e.to_string(),
    };
    let mark = if passed { "ok" } else { "FAILS" };
    format!("{name}: {mark}, {said}")
}

fn scope_line(scope: Option<&str>) -> String {
    match scope {
        None => "scope: none (every scope)".to_owned(),
        Some(scope) => {
            let writes = scope.split_whitespace().any(|s| s == "tasks:write");
            let what = if writes {
                "reads and writes"
            } else {
                "reads only"
            };
            format!("scope: {} ({what})", escaped(scope))
        }
    }
}

/// A time and how far it is from `now`: `2026-12-01 17:05:00 UTC (in 14 minutes)`.
fn at(secs: i64, now: i64) -> String {
    if secs > now {
        format!("{} (in {})", utc(secs), in_words(secs.saturating_sub(now)))
    } else {
        format!("{} ({} ago)", utc(secs), in_words(now.saturating_sub(secs)))
    }
}

fn utc(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(
        || format!("{secs} (not a time)"),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// A base64url segment's JSON, pretty; `None` when it is not that. serde_json escapes
/// the control characters below U+0020 in strings; every other character `must_escape`
/// names (DEL, the C1 controls, format characters, line and paragraph separators) is
/// escaped here too, the way JSON spells it (`\u202e`, a surrogate pair past U+FFFF),
/// so the text is still the JSON it was. The only raw line breaks left are the ones
/// between its members, which serde_json writes.
fn pretty_json(segment: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let pretty = serde_json::to_string_pretty(&value).ok()?;
    let mut printable = String::with_capacity(pretty.len());
    for c in pretty.chars() {
        if must_escape(c) && c != '\n' {
            for unit in c.encode_utf16(&mut [0; 2]) {
                printable.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            printable.push(c);
        }
    }
    Some(printable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::token::{forge, Secret, TokenSettings};
    use serde_json::{json, Value};

    const SECRET: &str = "a-test-secret-that-is-long-enough-for-hs256";
    /// 2027-01-15 08:00:00 UTC.
    const NOW: i64 = 1_800_000_000;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            TokenSettings {
                secret: Secret::new(SECRET).unwrap(),
                algorithm: jsonwebtoken::Algorithm::HS256,
                issuer: "https://auth.example".into(),
                audience: vec!["tasks-api".into()],
                lifetime_secs: 900,
                api_token_max_secs: 30 * 86_400,
                leeway_secs: 30,
                key_rotation_secs: None,
                key_grace_secs: 3600,
                jwks_url: None,
            },
            crate::clock::Clock::default(),
        )
    }

    fn claims() -> Value {
        json!({
            "sub": "user-1", "email": "ada@example.com", "name": "Ada", "iat": NOW - 600,
            "exp": NOW + 300, "iss": "https://auth.example", "aud": "tasks-api",
            "jti": "j", "sid": "session-1",
        })
    }

    fn lines_for(claims: &Value) -> Vec<String> {
        let keys = keys();
        let token = forge::hs256(&json!({"alg": "HS256"}), claims, SECRET.as_bytes());
        let explained = keys.explain_at(&token, NOW).unwrap();
        let mut lines = vec![signature_line(&keys, &explained)];
        lines.extend(claim_lines(&keys, &explained.claims.unwrap(), NOW));
        lines
    }

    #[test]
    fn a_good_token_passes_every_check_with_its_times_in_words() {
        assert_eq!(
            lines_for(&claims()),
            [
                "signature: ok, HS256 with the shared secret",
                "exp: ok, 2027-01-15 08:05:00 UTC (in 5 minutes)",
                "nbf: ok, absent",
                "iat: ok, 2027-01-15 07:50:00 UTC (10 minutes ago)",
                "issuer: ok, 'https://auth.example' is JWT_ISSUER",
                "audience: ok, 'tasks-api' names one of JWT_AUDIENCE 'tasks-api'",
                "subject: ok, 'user-1'",
                "sid: ok, 'session-1'",
            ]
        );
    }

    #[test]
    fn a_wrong_issuer_is_named_beside_the_configured_one() {
        let mut claims = claims();
        claims["iss"] = json!("https://evil.example");
        assert!(lines_for(&claims).contains(
            &"issuer: FAILS, 'https://evil.example' does not match JWT_ISSUER \
              'https://auth.example'"
                .to_owned()
        ));
    }

    #[test]
    fn an_expired_token_says_how_long_ago_and_a_missing_claim_that_it_is_missing() {
        let mut claims = claims();
        claims["exp"] = json!(NOW - 3 * 3600 - 100);
        claims.as_object_mut().unwrap().remove("sub");
        let lines = lines_for(&claims);
        assert!(
            lines.contains(&"exp: FAILS, 2027-01-15 04:58:20 UTC (expired 3 hours ago)".to_owned())
        );
        assert!(lines.contains(&"subject: FAILS, Token is missing the 'sub' claim".to_owned()));
    }

    #[test]
    fn times_at_the_ends_of_the_number_line_are_reported_without_overflowing() {
        for (exp, iat, nbf) in [
            (json!(i64::MIN), json!(i64::MIN), json!(i64::MAX)),
            (json!(i64::MAX), json!(-1e300), json!(i64::MIN)),
        ] {
            let mut claims = claims();
            claims["exp"] = exp;
            claims["iat"] = iat;
            claims["nbf"] = nbf;
            let lines = lines_for(&claims);
            assert!(lines.iter().any(|l| l.starts_with("exp: ")), "{lines:?}");
            assert!(
                lines.iter().any(|l| l.contains("(not a time)")),
                "{lines:?}"
            );
        }
    }

    #[test]
    fn claims_that_carry_line_breaks_or_terminal_escapes_are_printed_escaped() {
        let mut claims = claims();
        claims["iss"] = json!("https://auth.example\nverdict: accepted");
        claims["sub"] = json!("user-1\u{1b}[2J");
        claims["aud"] = json!(["tasks-api", "x'\r"]);
        // Bidi override and isolate, line and paragraph separators: the terminal would
        // show what follows them reordered, or on a line of its own.
        claims["sid"] = json!("s\u{202e}1\u{2028}2\u{2029}3\u{2066}");
        let lines = lines_for(&claims);
        assert!(lines.contains(
            &"issuer: FAILS, 'https://auth.example\\nverdict: accepted' does not match \
              JWT_ISSUER 'https://auth.example'"
                .to_owned()
        ));
        assert!(lines.contains(&"subject: ok, 'user-1\\u{1b}[2J'".to_owned()));
        assert!(lines.contains(
            &"audience: ok, 'tasks-api', 'x\\'\\r' names one of JWT_AUDIENCE 'tasks-api'"
                .to_owned()
        ));
        assert!(lines.contains(&"sid: ok, 's\\u{202e}1\\u{2028}2\\u{2029}3\\u{2066}'".to_owned()));
        for line in &lines {
            assert!(!line.chars().any(char::is_control), "{line:?}");
            assert!(!line.contains(REORDERING), "{line:?}");
        }
        assert_eq!(
            scope_line(Some("tasks:read\u{202e}\u{2028}")),
            "scope: tasks:read\\u{202e}\\u{2028} (reads only)"
        );
    }

    /// Characters that reorder or break the text shown around them.
    const REORDERING: [char; 7] = [
        '\u{202e}',
        '\u{2028}',
        '\u{2029}',
        '\u{2066}',
        '\u{200b}',
        '\u{feff}',
        '\u{e0001}',
    ];

    #[test]
    fn the_claims_json_shows_control_characters_escaped() {
        let reordering = "\u{202e}1\u{2028}2\u{2029}3\u{2066}4\u{200b}\u{feff}\u{e0001}";
        let payload = URL_SAFE_NO_PAD.encode(
            json!({
                "iss": "a\nverdict: accepted", "sub": "\u{1b}[31m", "name": "\u{9b}2J\u{7f}",
                "sid": reordering,
            })
            .to_string(),
        );
        let pretty = pretty_json(&payload).unwrap();
        assert!(
            !pretty.chars().any(|c| c.is_control() && c != '\n'),
            "{pretty}"
        );
        assert!(!pretty.contains(REORDERING), "{pretty}");
        assert!(pretty.contains(r#""a\nverdict: accepted""#), "{pretty}");
        assert!(pretty.contains(r#""\u001b[31m""#), "{pretty}");
        assert!(pretty.contains(r#""\u009b2J\u007f""#), "{pretty}");
        assert!(
            pretty.contains(r#""\u202e1\u20282\u20293\u20664\u200b\ufeff\udb40\udc01""#),
            "{pretty}"
        );
        let read: Value = serde_json::from_str(&pretty).unwrap();
        assert_eq!(read["name"], "\u{9b}2J\u{7f}", "still the JSON it was");
        assert_eq!(read["sid"], reordering, "still the JSON it was");
    }

    #[test]
    fn a_token_signed_with_another_secret_fails_its_signature_and_never_shows_ours() {
        let keys = keys();
        let token = forge::hs256(
            &json!({"alg": "HS256"}),
            &claims(),
            b"another-secret-that-is-long-enough-too",
        );
        let line = signature_line(&keys, &keys.explain_at(&token, NOW).unwrap());
        assert!(
            line.starts_with(
                "signature: FAILS, Invalid token signature: not signed with the shared secret"
            ),
            "{line}"
        );
        assert!(!line.contains(SECRET));
    }
}
