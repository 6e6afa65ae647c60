//! The server process: configuration, state, router, start-up and telemetry.
//!
//! `Application::build` is used by `main` and by the API tests alike, so the tests run
//! exactly the app that ships, on port 0 with a database of their own.

pub mod config;
pub mod database;
mod docs;
mod serve;
pub mod telemetry;
pub mod token_command;

use anyhow::Context;
use app::{clock::Clock, shell, state::AppState, App};
use axum::http::{header, HeaderName, HeaderValue};
use axum::{
    extract::{DefaultBodyLimit, Request},
    middleware::Next,
    response::Response,
    routing::get,
    Router,
};
use config::{Config, ConnectionLimits};
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{set_header::SetResponseHeaderLayer, timeout::TimeoutLayer, trace::TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// Rows are built on the database's threads and freed on the request threads. glibc's
/// allocator locks the owning arena for many such frees and consolidated its heaps often
/// enough to take about a seventh of a request's CPU under load; mimalloc frees across
/// threads without a lock. Declared here, not in `main`, so that the API tests run the
/// allocator that ships, and `release_freed_memory` always speaks to it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gives the memory this thread has freed back to the OS now. mimalloc returns it lazily,
/// on the thread's later allocations; a hashing thread that has just freed argon2's
/// 19 MiB and then waits for the next sign-in would keep it resident meanwhile.
fn release_freed_memory() {
    // SAFETY: `mi_collect` only frees memory that no allocation holds; it is safe to call
    // on any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    connections: ConnectionLimits,
    trusted_proxies: app::client::TrustedProxies,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = database::connect(&config.database).await?;
        let listener = TcpListener::bind(config.leptos_options.site_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.leptos_options.site_addr))?;
        let mut site = config.site;
        if !config.site_url_is_explicit {
            let bound = listener.local_addr()?;
            if bound.ip().is_unspecified() {
                anyhow::bail!(
                    "listening on {bound} without BETTER_AUTH_URL: set it to the URL people \
                     open (e.g. https://tasks.example.com), the only origin whose forms and \
                     cookie requests are accepted"
                );
            }
            // The origin browsers will send: the address actually bound (port 0 becomes
            // the port the system chose).
            site.public_origin = format!("http://{bound}");
        }
        let trusted_proxies = site.trusted_proxies.clone();
        let clock = config.clock;
        let revocations = Arc::new(app::auth::revocations::Revocations::new(
            config.tokens.lifetime_secs,
            config.tokens.leeway_secs,
            clock.clone(),
        ));
        revocations
            .load(&db)
            .await
            .context("cannot read the revocation log")?;
        let postgres_url = (config.database.backend == database::Backend::Postgres)
            .then_some(config.database.url.as_str());
        let log_reader = database::log_reader(&config.database, &db).await?;
        app::auth::revocations::follow(&revocations, &log_reader, postgres_url);
        if site.require_email_verification {
            let ended = app::auth::store::sessions::end_unverified_sessions(&db, &revocations)
                .await
                .context("cannot end the sessions of unverified accounts")?;
            if ended > 0 {
                tracing::info!(
                    ended,
                    "REQUIRE_EMAIL_VERIFICATION: ended the sessions of accounts whose address is not verified"
                );
            }
        }
        let tokens = Arc::new(token_keys(&db, config.tokens, &clock).await?);
        maintain_signing_keys(&tokens, &db);
        sweep_tables(&db, config.retention, config.janitor_every, &clock);
        let limits = Arc::new(app::auth::rate_limit::RateLimiter::new(
            config.rate_limits,
            clock.clone(),
        ));
        sweep_rate_limits(&limits);
        let state = AppState::new(app::state::Shared {
            leptos_options: config.leptos_options,
            db,
            tokens,
            revocations,
            site: Arc::new(site),
            limits,
            passwords: Arc::new(app::auth::password::Passwords::start(release_freed_memory)),
            mail: Arc::new(mailer(config.mail)?),
            clock,
        });
        Ok(Self {
            listener,
            router: router(state, config.connections.request_timeout, config.api_docs),
            connections: config.connections,
            trusted_proxies,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// Serves until SIGINT or SIGTERM, then lets requests in flight finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        serve::serve(
            self.listener,
            self.router,
            self.connections,
            self.trusted_proxies,
            shutdown_signal(),
        )
        .await
    }
}

/// The whole app; requests whose answer has not started after `request_timeout` get 408.
/// With `api_docs`, the API's OpenAPI document is at `/openapi.json` and Swagger UI shows
/// it at `/docs`.
///
/// The middleware every request passes through wraps the routed app once, rather than
/// being layered onto each route with `Router::layer`. Layered per route, each level is
/// a boxed service, and each `from_fn` clones the boxed chain below it for every
/// request: dozens of allocations per request, whatever the route (docs/performance.md).
/// Wrapped around the router, it runs before routing: it sees the whole path, but no
/// `MatchedPath`, which none of it needs.
pub fn router(state: AppState, request_timeout: Duration, api_docs: bool) -> Router {
    let served_over_https = state.site.secure_cookies;
    // The first layer is the outermost: it sees the request first and the answer last.
    let middleware = ServiceBuilder::new()
        .option_layer(served_over_https.then(|| {
            security_header(
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=31536000; includeSubDomains",
            )
        }))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin",
        ))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        // Inside the trace and the security headers, so a 408 is logged and has them.
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(DefaultBodyLimit::max(app::extract::BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(no_store_for_credentials))
        .layer(axum::middleware::from_fn(static_cache_control))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            app::auth::web::extract::same_origin_server_functions,
        ))
        .layer(axum::middleware::from_fn(
            app::extract::limit_server_fn_bodies,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            app::form_errors::only_our_own_words,
        ))
        .layer(axum::middleware::from_fn(
            app::error::server_fn_error_status,
        ));
    Router::new().fallback_service(middleware.service(routes(state, api_docs)))
}

/// Every route of the app, and the fallback that serves files and the not-found page.
fn routes(state: AppState, api_docs: bool) -> Router {
    let (api, document) = OpenApiRouter::with_openapi(app::openapi::ApiDoc::openapi())
        .nest("/api", app::api::router(&state.site))
        .split_for_parts();
    let router = Router::new().merge(api);
    let router = if api_docs {
        router.merge(docs::router(document))
    } else {
        router
    };
    router
        .route("/health", get(|| async { "ok" }))
        .leptos_routes_with_context(&state, generate_route_list(App), || (), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
}

/// Browser caching for the files under `/pkg`. The content-hashed ones
/// (`taskboard.<hash>.wasm`, with `hash-files` in Cargo.toml) change name whenever their
/// content changes, so they may be kept for a year; anything else there is revalidated
/// on every use. The file handler serves `.br`/`.gz` twins of a file when a release
/// build made them (`cargo leptos build --release --precompress`).
async fn static_cache_control(request: Request, next: Next) -> Response {
    let policy = request.uri().path().strip_prefix("/pkg/").map(|file| {
        if is_content_hashed(file) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }
    });
    let mut response = next.run(request).await;
    if let Some(policy) = policy.filter(|_| response.status().is_success()) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// The token keys: the shared secret; the key pairs of an asymmetric `JWT_ALGORITHM`
/// (the first one made now, if there is none yet); the trusted issuer's JWKS, fetched
/// when the first of its tokens arrives.
pub async fn token_keys(
    db: &app::db::Pool,
    settings: app::auth::token::TokenSettings,
    clock: &Clock,
) -> anyhow::Result<app::auth::token::TokenKeys> {
    use app::auth::signing_keys;
    let ring = if signing_keys::is_asymmetric(settings.algorithm) {
        Some(signing_keys::maintain(db, &settings, clock.now()).await?)
    } else {
        None
    };
    Ok(with_key_ring(settings, ring, clock))
}

/// `token_keys` as the database has them, making and rotating none (`server token
/// decode`, which only reads); an asymmetric `JWT_ALGORITHM` whose first key has not
/// been made yet is an error.
pub async fn stored_token_keys(
    db: &app::db::Pool,
    settings: app::auth::token::TokenSettings,
    clock: &Clock,
) -> anyhow::Result<app::auth::token::TokenKeys> {
    use app::auth::signing_keys;
    let ring = if signing_keys::is_asymmetric(settings.algorithm) {
        Some(signing_keys::load(db, &settings.secret, settings.algorithm, clock.now()).await?)
    } else {
        None
    };
    Ok(with_key_ring(settings, ring, clock))
}

fn with_key_ring(
    settings: app::auth::token::TokenSettings,
    ring: Option<app::auth::signing_keys::KeyRing>,
    clock: &Clock,
) -> app::auth::token::TokenKeys {
    use app::auth::{remote_keys::RemoteKeys, token::TokenKeys};
    let remote = settings.jwks_url.clone().map(RemoteKeys::new);
    let mut keys = TokenKeys::new(settings, clock.clone());
    if let Some(ring) = ring {
        keys = keys.with_key_ring(ring);
    }
    if let Some(remote) = remote {
        keys = keys.with_remote_keys(remote);
    }
    keys
}

/// Checks the signing keys of an asymmetric `JWT_ALGORITHM` on a timer
/// (`signing_keys::check_every`), for as long as the app holds them: rotated when due,
/// and reloaded so that keys another process made are signed with here too.
fn maintain_signing_keys(tokens: &Arc<app::auth::token::TokenKeys>, db: &app::db::Pool) {
    if !app::auth::signing_keys::is_asymmetric(tokens.settings().algorithm) {
        return;
    }
    let (tokens, db) = (Arc::downgrade(tokens), db.clone());
    tokio::spawn(async move {
        let Some(period) = tokens
            .upgrade()
            .map(|t| app::auth::signing_keys::check_every(t.settings()))
        else {
            return;
        };
        let mut every = tokio::time::interval(period);
        every.tick().await;
        loop {
            every.tick().await;
            let Some(tokens) = tokens.upgrade() else {
                return;
            };
            match app::auth::signing_keys::maintain(&db, tokens.settings(), tokens.clock().now())
                .await
            {
                Ok(ring) => tokens.replace_key_ring(ring),
                Err(e) => tracing::warn!(error = %e, "signing keys could not be checked"),
            }
        }
    });
}

/// Deletes expired sessions, old audit events and unpublished keys on a timer
/// (`app::janitor`), once at start and every `sweep_every` (`JANITOR_INTERVAL`) after.
fn sweep_tables(
    db: &app::db::Pool,
    retention: app::janitor::Retention,
    sweep_every: Duration,
    clock: &Clock,
) {
    let (db, clock) = (db.clone(), clock.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(sweep_every);
        loop {
            every.tick().await;
            if db.is_closed() {
                return;
            }
            let started = std::time::Instant::now();
            match app::janitor::sweep(&db, retention, clock.now()).await {
                Ok(swept) if swept != app::janitor::Swept::default() => {
                    let took_ms = started.elapsed().as_millis();
                    tracing::info!(?swept, took_ms, "old rows deleted");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "old rows could not be deleted"),
            }
        }
    });
}

/// The span of a request in the logs: its method and path, never its query, and the
/// token of a reset link (`/api/auth/reset-password/{token}`) left out: emailed links
/// carry their tokens there and in `?token=`, and a log is no place for credentials.
fn request_span(request: &Request) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %loggable_path(request.uri().path()),
    )
}

fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    const RESET_LINK: &str = "/api/auth/reset-password/";
    match path.strip_prefix(RESET_LINK) {
        Some(token) if !token.is_empty() => format!("{RESET_LINK}…").into(),
        _ => path.into(),
    }
}

/// The mailer of the configuration. Without an SMTP server, emails only reach the outbox:
/// said once at start, since then nobody receives their reset or verification links.
fn mailer(settings: app::mail::MailSettings) -> anyhow::Result<app::mail::Mailer> {
    let outbox = settings.outbox_dir.clone();
    let mailer = app::mail::Mailer::new(settings)?;
    if mailer.is_outbox() {
        tracing::warn!(
            outbox = %outbox.display(),
            "SMTP_URL is not set: emails are written to the outbox, not sent; set SMTP_URL \
             and MAIL_FROM to send them"
        );
    }
    Ok(mailer)
}

/// Sweeps the limiter's expired counters on a timer, for as long as the app holds it.
fn sweep_rate_limits(limits: &Arc<app::auth::rate_limit::RateLimiter>) {
    let limits = Arc::downgrade(limits);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(app::auth::rate_limit::SWEEP_EVERY);
        loop {
            every.tick().await;
            let Some(limits) = limits.upgrade() else {
                return;
            };
            limits.sweep();
        }
    });
}

/// Answers that carry a credential (a session token, a JWT, a cookie that holds one) must
/// not be kept by a browser's or a proxy's cache, where the next user of a shared
/// machine, or of the proxy, could be handed them. Nor must the pages: each is made for
/// whoever asked (their name, their tasks, the emailed token in a reset link's address),
/// and a page left in the cache would show the next person at the machine after a sign
/// out.
async fn no_store_for_credentials(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    // The JWKS holds public keys only, and verifiers are meant to cache it.
    let by_path = (path.starts_with("/api/auth/") && path != "/api/auth/jwks")
        || path.starts_with(app::paths::SERVER_FN_PREFIX);
    let mut response = next.run(request).await;
    let headers = response.headers();
    let is_page = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    let carries_credentials = by_path
        || is_page
        || headers.contains_key(header::SET_COOKIE)
        || headers.contains_key("set-auth-jwt")
        || headers.contains_key("set-auth-token");
    if carries_credentials {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// `name.<22 base64url characters>.ext`: the MD5 that cargo-leptos puts in file names.
fn is_content_hashed(file: &str) -> bool {
    let mut parts = file.rsplitn(3, '.');
    let (_extension, hash, stem) = (parts.next(), parts.next(), parts.next());
    matches!((hash, stem), (Some(hash), Some(stem)) if !stem.is_empty()
        && hash.len() == 22
        && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

/// Sets a header on every answer that does not set it itself.
fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

#[cfg(test)]
mod tests {
    use super::{is_content_hashed, loggable_path};

    #[test]
    fn the_token_of_a_reset_link_stays_out_of_the_log() {
        assert_eq!(
            loggable_path("/api/auth/reset-password/s3cr3tT0ken"),
            "/api/auth/reset-password/…"
        );
        assert_eq!(
            loggable_path("/api/auth/reset-password"),
            "/api/auth/reset-password"
        );
        assert_eq!(loggable_path("/api/tasks/1"), "/api/tasks/1");
    }

    #[test]
    fn only_names_with_a_content_hash_count_as_hashed() {
        assert!(is_content_hashed("taskboard.Xr2b8KqZ0cQm1n3LhV7wJg.wasm"));
        assert!(is_content_hashed("taskboard.a-b_c12345678901234567.js"));
        assert!(!is_content_hashed("taskboard.wasm"));
        assert!(!is_content_hashed("taskboard.css"));
        assert!(!is_content_hashed(".Xr2b8KqZ0cQm1n3LhV7wJg.js"));
        assert!(!is_content_hashed("taskboard.Xr2b8KqZ0cQm1n3LhV7w!g.js"));
    }
}
