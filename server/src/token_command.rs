//! `server token decode|mint`: why a token is refused, and a token for a script, read
//! against the configuration and the database the server itself uses (`Config::from_env`,
//! the same keys), so a wrong `JWT_ISSUER` shows here as it does to the API.
//!
//! Its exit status tells a script which: 0 when done (the token is accepted, or minted),
//! 1 when the API would refuse the token, 2 when the command could not do its job (its
//! arguments, the configuration, the database).

use crate::{
    config::{parse_duration, Config},
    database,
};
use anyhow::{anyhow, bail, Context};
use app::auth::{
    api_tokens::{in_words, ApiTokenLifetime},
    service::api_tokens,
    store::users,
    token::{self, Scope},
    token_report,
    types::Email,
};
use app::{client::ClientInfo, clock::Clock, error::AppError};
use std::{io::Read, process::ExitCode};

pub const USAGE: &str = "\
usage: server token decode <jwt | ->
         The token's header and claims, and what each check of the API says of it with
         this server's configuration and database: signature, algorithm, exp, nbf, iat,
         issuer, audience, session, user. `-` reads the token from stdin, which keeps it
         out of `ps` and the shell's history. Exits with status 1 when the API would
         refuse it, 2 when it cannot tell (configuration, database).
       server token mint --email <email> [--scope <scopes>] [--expires <duration>] [--allow-release]
         Prints a new API token for an existing user, in a session of its own that is
         listed and revocable like any other. --scope: tasks:read, or
         \"tasks:read tasks:write\" (the default). --expires: 1h by default (15m, 7d, ...),
         at most SESSION_MAX_AGE. A release build refuses without --allow-release.";

/// How long a minted token lives unless `--expires` says.
const DEFAULT_EXPIRES: &str = "1h";

/// The most of stdin read for `decode -`: a token is 8 KiB at most, and white space around.
const STDIN_LIMIT_BYTES: u64 = 64 * 1024;

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Decode(Jwt),
    Mint(Mint),
}

/// Where `decode` finds the token.
#[derive(Debug, PartialEq, Eq)]
enum Jwt {
    Given(String),
    /// `-`.
    Stdin,
}

#[derive(Debug, PartialEq, Eq)]
struct Mint {
    email: Email,
    scope: Scope,
    /// Checked against the configured maximum once the configuration is read.
    expires_secs: i64,
    allow_release: bool,
}

/// Runs `server token <args>`, saying what went wrong on stderr: the exit status is 1
/// only when the API would refuse the token decoded, 2 when the command failed.
pub async fn run(args: &[String]) -> ExitCode {
    match execute(args).await {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(refusal)) => {
            eprintln!("the API refuses this token: {refusal}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("Error: {e:?}");
            ExitCode::from(2)
        }
    }
}

/// Does the command: `Some` with the API's answer when it would refuse the token decoded.
async fn execute(args: &[String]) -> anyhow::Result<Option<AppError>> {
    let command = parse(args).map_err(|e| anyhow!("{e}\n\n{USAGE}"))?;
    if let Command::Mint(mint) = &command {
        may_mint(cfg!(debug_assertions), mint.allow_release)?;
    }
    let leptos_options = crate::config::site_options()?;
    let config = Config::from_env(leptos_options)?;
    let db = database::connect(&config.database).await?;
    let outcome = perform(&db, config.tokens, command).await;
    db.close().await;
    outcome
}

async fn perform(
    db: &app::db::Pool,
    settings: token::TokenSettings,
    command: Command,
) -> anyhow::Result<Option<AppError>> {
    match command {
        Command::Decode(jwt) => {
            // Decoding only reads: it makes no key and rotates none, whatever is due.
            let keys = crate::stored_token_keys(db, settings, &Clock::default()).await?;
            let jwt = match jwt {
                Jwt::Given(jwt) => jwt,
                Jwt::Stdin => read_stdin().await?,
            };
            decode(db, &keys, &jwt).await
        }
        Command::Mint(mint) => {
            let keys = crate::token_keys(db, settings, &Clock::default()).await?;
            issue(db, &keys, mint).await.map(|()| None)
        }
    }
}

/// The token piped in for `decode -`.
async fn read_stdin() -> anyhow::Result<String> {
    tokio::task::spawn_blocking(|| {
        let mut read = String::new();
        std::io::stdin()
            .take(STDIN_LIMIT_BYTES)
            .read_to_string(&mut read)
            .map(|_| read)
    })
    .await?
    .context("cannot read the token from stdin")
}

fn parse(args: &[String]) -> Result<Command, String> {
    match args {
        [decode, jwt] if decode == "decode" && jwt == "-" => Ok(Command::Decode(Jwt::Stdin)),
        [decode, jwt] if decode == "decode" => Ok(Command::Decode(Jwt::Given(jwt.clone()))),
        [mint, options @ ..] if mint == "mint" => parse_mint(options).map(Command::Mint),
        _ => Err("server token: decode <jwt | -> or mint --email <email>".to_owned()),
    }
}

fn parse_mint(options: &[String]) -> Result<Mint, String> {
    let (mut email, mut scope, mut expires, mut allow_release) = (None, None, None, false);
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let mut value = || {
            options
                .next()
                .cloned()
                .ok_or_else(|| format!("{option} wants a value"))
        };
        match option.as_str() {
            "--email" => email = Some(value()?),
            "--scope" => scope = Some(value()?),
            "--expires" => expires = Some(value()?),
            "--allow-release" => allow_release = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let email = email.ok_or("mint wants --email <email> of an existing user")?;
    let email =
        Email::parse(&email).map_err(|e| format!("--email {email} is not an email: {}", e.msg))?;
    let scope = match scope {
        Some(scope) => Scope::parse(&scope).map_err(|e| format!("--scope: {e}"))?,
        None => Scope::full(),
    };
    let expires = expires.unwrap_or_else(|| DEFAULT_EXPIRES.to_owned());
    let expires_secs = parse_duration(&expires)
        .ok_or_else(|| format!("--expires {expires} is not a duration (15m, 1h, 7d)"))?;
    Ok(Mint {
        email,
        scope,
        expires_secs,
        allow_release,
    })
}

/// Whether this build may mint tokens: a development build always; a release build only
/// when told to, since a token minted from the command line needs nobody's password.
fn may_mint(development_build: bool, allow_release: bool) -> anyhow::Result<()> {
    if !development_build && !allow_release {
        bail!(
            "this is a release build: minting a token signs anyone in without a password; \
             add --allow-release if you mean to"
        );
    }
    Ok(())
}

/// Prints the report on `jwt`; `Some` with the API's answer when it refuses it.
async fn decode(
    db: &app::db::Pool,
    keys: &token::TokenKeys,
    jwt: &str,
) -> anyhow::Result<Option<AppError>> {
    // As the API does for a kid it does not know: the keys as they are now.
    keys.refresh_keys(db).await;
    let report = token_report::report(db, keys, jwt, keys.clock().now()).await?;
    println!("header: {}", report.header);
    println!("claims: {}", report.claims);
    for line in &report.checks {
        println!("{line}");
    }
    Ok(report.refusal)
}

/// Mints the token; it alone goes to stdout (`TOKEN=$(server token mint …)`), what it is
/// to stderr.
async fn issue(db: &app::db::Pool, keys: &token::TokenKeys, mint: Mint) -> anyhow::Result<()> {
    let lifetime = ApiTokenLifetime::parse(mint.expires_secs, keys.settings().api_token_max_secs)
        .map_err(|e| anyhow!("--expires: {e}"))?;
    let email = mint.email.as_str();
    let (user, _) = users::find_user_with_hash_by_email(db, email)
        .await?
        .with_context(|| format!("no user has the email {email}: they sign up first"))?;
    let client = ClientInfo {
        ip_address: None,
        user_agent: Some("server token mint".to_owned()),
    };
    let issued = api_tokens::issue_api_token(
        db,
        keys,
        &user,
        &mint.scope,
        lifetime,
        &client,
        api_tokens::AskedBy {
            via: "by `server token mint`",
            // Nobody signed in: an operator minted it.
            amr: "",
        },
    )
    .await
    .map_err(|e| anyhow!("{e}"))?
    .with_context(|| format!("{email} is disabled: no token is issued for them"))?;
    println!("{}", issued.token);
    eprintln!(
        "an API token for {email} ({}), scope {}, for {}: session {}, until {}; revoke it on \
         the account page or with POST /api/auth/revoke-session",
        user.id,
        mint.scope.as_str(),
        in_words(lifetime.secs()),
        issued.session.id,
        issued.session.expires_at,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn a_release_build_mints_only_when_told_it_may() {
        assert!(may_mint(true, false).is_ok());
        assert!(may_mint(false, true).is_ok());
        let refused = may_mint(false, false).unwrap_err().to_string();
        assert!(refused.contains("--allow-release"), "{refused}");
    }

    #[test]
    fn mint_defaults_to_every_scope_for_an_hour() {
        let Ok(Command::Mint(mint)) = parse(&args("mint --email Ada@Example.com")) else {
            panic!("a mint command");
        };
        assert_eq!(mint.email.as_str(), "ada@example.com");
        assert_eq!(mint.scope, Scope::full());
        assert_eq!(mint.expires_secs, 3600);
        assert!(!mint.allow_release);
    }

    #[test]
    fn mint_reads_scope_expiry_and_the_release_flag() {
        let mut line = args("mint --email a@b.io --expires 7d --allow-release --scope");
        line.push("tasks:read".to_owned());
        let Ok(Command::Mint(mint)) = parse(&line) else {
            panic!("a mint command");
        };
        assert_eq!(mint.scope.as_str(), "tasks:read");
        assert_eq!(mint.expires_secs, 7 * 86_400);
        assert!(mint.allow_release);
    }

    #[test]
    fn mint_refuses_what_it_cannot_read_and_says_what() {
        for (line, says) in [
            ("mint", "--email"),
            ("mint --email nobody", "not an email"),
            ("mint --email a@b.io --scope admin", "Unknown scope 'admin'"),
            ("mint --email a@b.io --expires soon", "not a duration"),
            ("mint --email a@b.io --expires", "wants a value"),
            ("mint --email a@b.io --verbose", "unknown option --verbose"),
            ("decode", "decode <jwt | ->"),
        ] {
            let error = parse(&args(line)).unwrap_err();
            assert!(error.contains(says), "{line}: {error}");
        }
    }

    #[test]
    fn decode_takes_one_token_or_a_dash_for_stdin() {
        assert_eq!(
            parse(&args("decode a.b.c")),
            Ok(Command::Decode(Jwt::Given("a.b.c".to_owned())))
        );
        assert_eq!(parse(&args("decode -")), Ok(Command::Decode(Jwt::Stdin)));
    }
}
