//! The rate limits (`RATE_LIMIT_*`): attempts per window for each kind of request.

use super::vars::Vars;
use app::auth::rate_limit::RateLimits;

pub fn read(vars: &Vars) -> anyhow::Result<RateLimits> {
    let defaults = RateLimits::default();
    Ok(RateLimits {
        sign_in_per_address: vars.limit("RATE_LIMIT_SIGN_IN", defaults.sign_in_per_address)?,
        failed_sign_ins_per_account: vars.limit(
            "RATE_LIMIT_FAILED_SIGN_IN",
            defaults.failed_sign_ins_per_account,
        )?,
        sign_ups_per_address: vars.limit("RATE_LIMIT_SIGN_UP", defaults.sign_ups_per_address)?,
        refreshes_per_address: vars.limit("RATE_LIMIT_REFRESH", defaults.refreshes_per_address)?,
        task_writes_per_user: vars
            .limit("RATE_LIMIT_TASK_WRITES", defaults.task_writes_per_user)?,
        api_tokens_per_user: vars.limit("RATE_LIMIT_API_TOKENS", defaults.api_tokens_per_user)?,
        profile_updates_per_user: vars.limit(
            "RATE_LIMIT_PROFILE_UPDATES",
            defaults.profile_updates_per_user,
        )?,
        emails_per_address: vars
            .limit("RATE_LIMIT_EMAILS_PER_ADDRESS", defaults.emails_per_address)?,
        emails_per_account: vars
            .limit("RATE_LIMIT_EMAILS_PER_ACCOUNT", defaults.emails_per_account)?,
        email_requests_per_client: vars.limit(
            "RATE_LIMIT_EMAIL_REQUESTS",
            defaults.email_requests_per_client,
        )?,
        ..defaults
    })
}
