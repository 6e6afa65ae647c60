//! The site's settings: its sessions, cookies, CORS origins, proxies, emailed links and
//! the tasks a user may keep.

use super::{
    vars::{is_loopback, origin_of, parse_duration, Vars, DURATION_FORM},
    Mode,
};
use anyhow::bail;
use app::{
    client::{ForwardingHeader, TrustedProxies},
    state::SiteSettings,
};

/// The site's settings; `site_url` is the public URL (`BETTER_AUTH_URL`, or where the
/// server listens).
pub fn read(vars: &Vars, site_url: &str, mode: Mode) -> anyhow::Result<SiteSettings> {
    let public_origin = origin_of("BETTER_AUTH_URL", site_url)?;
    let site_is_https = site_url.starts_with("https://");
    let session_lifetime_secs = vars.duration("SESSION_EXPIRES_IN", 7 * 24 * 3600)?;
    let session_update_age_secs = vars.duration("SESSION_UPDATE_AGE", 24 * 3600)?;
    let refresh_reuse_interval_secs = vars.parsed(
        "REFRESH_REUSE_INTERVAL",
        10,
        |v| parse_duration(v).or_else(|| (v.trim() == "0").then_some(0)),
        DURATION_FORM,
    )?;
    let session_max_age_secs = vars.duration("SESSION_MAX_AGE", 30 * 24 * 3600)?;
    if session_max_age_secs < session_lifetime_secs {
        bail!(
            "SESSION_MAX_AGE ({session_max_age_secs} s) is shorter than SESSION_EXPIRES_IN \
             ({session_lifetime_secs} s): make it at least as long"
        );
    }
    let lost_refresh_window_secs = vars.duration("REFRESH_LOST_ANSWER_WINDOW", 2 * 60)?;
    let max_tasks_per_user = vars.parsed(
        "MAX_TASKS_PER_USER",
        10_000,
        |v| v.parse().ok().filter(|n| *n > 0),
        "a positive number of tasks",
    )?;
    let forwarding_header = match vars.get("TRUSTED_PROXY_HEADER") {
        Some(name) => ForwardingHeader::parse(&name)
            .map_err(|e| anyhow::anyhow!("TRUSTED_PROXY_HEADER={e}"))?,
        None => ForwardingHeader::default(),
    };
    let trusted_proxies = TrustedProxies::parse(
        &vars.get("TRUSTED_PROXIES").unwrap_or_default(),
        forwarding_header,
    )
    .map_err(|e| anyhow::anyhow!("TRUSTED_PROXIES: {e}"))?;
    let cookie_prefix = vars
        .get("BETTER_AUTH_COOKIE_PREFIX")
        .unwrap_or_else(|| "better-auth".into());
    if !cookie_prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        bail!(
            "BETTER_AUTH_COOKIE_PREFIX={cookie_prefix} cannot start a cookie name: use \
             letters, digits, '-', '_' and '.'"
        );
    }
    let cors_allowed_origins = vars
        .get("CORS_ALLOWED_ORIGINS")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| allowed_origin(o, site_is_https, mode))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(SiteSettings {
        secure_cookies: site_is_https,
        session_cookie: SiteSettings::session_cookie_name(&cookie_prefix, site_is_https),
        cors_allowed_origins,
        public_origin,
        require_email_verification: vars.flag("REQUIRE_EMAIL_VERIFICATION", false)?,
        require_mfa_for_admins: vars.flag("REQUIRE_MFA_FOR_ADMINS", false)?,
        reset_link_lifetime_secs: vars.duration("RESET_PASSWORD_EXPIRES_IN", 3600)?,
        verification_link_lifetime_secs: vars
            .duration("EMAIL_VERIFICATION_EXPIRES_IN", 24 * 3600)?,
        session_lifetime_secs,
        session_update_age_secs,
        session_max_age_secs,
        refresh_reuse_interval_secs,
        lost_refresh_window_secs,
        max_tasks_per_user,
        trusted_proxies,
    })
}

/// One entry of `CORS_ALLOWED_ORIGINS`, normalised as browsers send it. A listed origin
/// may read answers that carry session tokens, so it must be one exact origin (no
/// wildcard), and beside an https site it must be https too (or, in development, this
/// machine): a page served over plain http can be rewritten by whoever is on the
/// network, and in production any local process may serve one.
fn allowed_origin(entry: &str, site_is_https: bool, mode: Mode) -> anyhow::Result<String> {
    if entry.contains('*') {
        bail!(
            "CORS_ALLOWED_ORIGINS={entry}: list each origin exactly; wildcards are not supported"
        );
    }
    let origin = origin_of("CORS_ALLOWED_ORIGINS", entry)?;
    let local_development = mode == Mode::Development && is_loopback(&origin);
    if site_is_https && origin.starts_with("http://") && !local_development {
        bail!(
            "CORS_ALLOWED_ORIGINS={entry}: the site is served over https, so a plain-http \
             origin may not read its answers; use https"
        );
    }
    Ok(origin)
}
