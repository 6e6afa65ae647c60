//! Starts Taskboard: reads the configuration, migrates the database and serves.
//!
//! `server make-admin <email>` instead gives an existing user the admin role and exits:
//! the way to the first admin. It refuses an account whose address was never verified
//! unless told `--unverified`. `server rotate-keys` retires the current signing key pair
//! (`JWT_ALGORITHM=EdDSA`, `ES256` or `RS256`) and makes its successor; with
//! `--compromised` it withdraws every published key at once. `server token decode|mint`
//! explains a token check by check, or mints one for a script (`token_command`).

use anyhow::{bail, Context};
use app::{admin::service::Unverified, auth::types::Email};
use server::{
    config::{Config, DEFAULT_DATABASE_URL},
    database::{connect, Database},
    telemetry, Application,
};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    dotenvy::dotenv().ok();
    telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let done = match args.as_slice() {
        [] => serve().await,
        [command, rest @ ..] if command == "make-admin" => match make_admin_args(rest) {
            Some((email, unverified)) => make_admin(email, unverified).await,
            None => bail!("{USAGE}"),
        },
        [command] if command == "rotate-keys" => rotate_keys(false).await,
        [command, flag] if command == "rotate-keys" && flag == "--compromised" => {
            rotate_keys(true).await
        }
        // Its own exit statuses: 1 says "the API refuses this token", 2 that it failed.
        [command, rest @ ..] if command == "token" => {
            return Ok(server::token_command::run(rest).await)
        }
        _ => bail!("{USAGE}\n\n{}", server::token_command::USAGE),
    };
    done.map(|()| ExitCode::SUCCESS)
}

const USAGE: &str = "usage: server [make-admin [--unverified] <email> | rotate-keys \
                     [--compromised] | token decode|mint …]";

/// `make-admin`'s arguments: one address, with `--unverified` before or after it.
fn make_admin_args(args: &[String]) -> Option<(&str, Unverified)> {
    let address = |arg: &String| !arg.starts_with('-');
    match args {
        [email] if address(email) => Some((email.as_str(), Unverified::Refuse)),
        [flag, email] | [email, flag] if flag == "--unverified" && address(email) => {
            Some((email.as_str(), Unverified::Allow))
        }
        _ => None,
    }
}

async fn serve() -> anyhow::Result<()> {
    let leptos_options = server::config::site_options()?;
    let config = Config::from_env(leptos_options)?;
    let app = Application::build(config).await?;
    tracing::info!("Taskboard is listening on http://{}", app.address());
    app.run_until_stopped().await?;
    Ok(())
}

/// Retires the current signing key pair and makes its successor, now. Running servers
/// sign with it within a minute, and verify its tokens at once. Routinely the retired key
/// stays published while its tokens may live; `compromised` withdraws it, and every
/// retired key still published, at once: the JWKS stops listing them now, running
/// servers refuse their tokens at their next key check (within a minute), and sessions
/// refresh onto the successor.
async fn rotate_keys(compromised: bool) -> anyhow::Result<()> {
    use app::auth::signing_keys;
    let config = Config::from_env(server::config::site_options()?)?;
    if !signing_keys::is_asymmetric(config.tokens.algorithm) {
        bail!("JWT_ALGORITHM signs with the shared secret: there are no key pairs to rotate");
    }
    let db = connect(&config.database).await?;
    if compromised {
        let withdrawn = signing_keys::withdraw_all(&db, &config.tokens, config.clock.now()).await?;
        match withdrawn.as_slice() {
            [] => println!("no signing key was published: none withdrawn"),
            withdrawn => println!(
                "signing keys withdrawn: {}; every token they signed is refused from now on",
                withdrawn.join(", ")
            ),
        }
    } else {
        signing_keys::rotate_now(&db, &config.tokens, config.clock.now()).await?;
    }
    let ring = signing_keys::load(
        &db,
        &config.tokens.secret,
        config.tokens.algorithm,
        config.clock.now(),
    )
    .await?;
    println!("signing key {} is now current", ring.current.kid);
    Ok(())
}

async fn make_admin(email: &str, unverified: Unverified) -> anyhow::Result<()> {
    let database_url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
    let db = connect(&Database::parse(&database_url)?).await?;
    let email = Email::parse(email)
        .map_err(|e| anyhow::anyhow!("{email} is not an email address: {}", e.msg))?;
    let email = email.as_str();
    let user = match app::admin::service::make_admin(&db, email, unverified).await {
        Ok(user) => user,
        Err(e) if e.code() == app::auth::service::session::EMAIL_NOT_VERIFIED => bail!(
            "cannot make {email} an admin: its address is not verified, so nothing shows that \
             whoever signed up with it owns it. Have them verify it (the account page sends a \
             link), or, if that is really meant, run: server make-admin --unverified {email}"
        ),
        Err(e) => {
            return Err(anyhow::Error::msg(e))
                .with_context(|| format!("cannot make {email} an admin"))
        }
    };
    println!("{} ({}) is now an admin", user.email, user.id);
    Ok(())
}
