//! The pages behind the emailed links: asking for a password reset, setting the new
//! password, confirming a verification, approval or change-of-address link, what became
//! of it, the banner that asks to verify an address, and the account page's change of
//! address. Every form is a plain post to
//! its server function first, so each works before the wasm has loaded; the function's
//! redirect says what happened (`?sent=1`, `?verification=sent`, `?email=sent`).

use crate::{
    auth::{
        server_fns::{
            describe_email_link, ChangeEmail, ConfirmEmail, RequestPasswordReset, ResetPassword,
            SendVerificationEmail,
        },
        types::{EmailLink, Viewer},
    },
    ui::{form_error, Field, UserResource},
};
use leptos::{
    either::{Either, EitherOf3},
    prelude::*,
    server_fn::ServerFn,
};
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_location, use_query_map},
    lazy_route, LazyRoute,
};

/// `/forgot-password`: an address in, a link out, and the same words whether or not the
/// address has an account.
pub struct ForgotPasswordPage;

#[lazy_route]
impl LazyRoute for ForgotPasswordPage {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        forgot_password_form().into_any()
    }
}

fn forgot_password_form() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let query = use_query_map();
    let sent = move || query.read().get("sent").is_some();
    let error = move || action.value().get().and_then(Result::err);
    let pending = action.pending();
    view! {
        <Title text="Forgot your password? · Taskboard" />
        <section class="card auth-card" aria-labelledby="forgot-title">
            <h1 id="forgot-title">"Forgot your password?"</h1>
            <Show when=sent>
                <p class="notice" role="status">
                    "If an account uses that address, a link to choose a new password is on its way. "
                    "It works once, and expires; check your spam folder if it does not arrive."
                </p>
            </Show>
            <p>"Type the address you signed up with, and we will email you a link to choose a new password."</p>
            <ActionForm action=action>
                <Field label="Email" name="email" kind="email" autocomplete="email"
                    error=Signal::derive(move || error().and_then(|e| e.message_for("email"))) />
                <p class="form-error" role="alert">{move || form_error(error())}</p>
                <button type="submit" class="primary" disabled=pending aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { "Sending…" } else { "Email me a link" }}
                </button>
            </ActionForm>
            <p class="switch">"Remembered it? " <A href="/sign-in">"Sign in"</A></p>
        </section>
    }
}

/// `/reset-password`: where a reset link leads, with `?token=` (a form for the new
/// password) or `?error=INVALID_TOKEN` (a way to ask again).
pub struct ResetPasswordPage;

#[lazy_route]
impl LazyRoute for ResetPasswordPage {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        reset_password_form().into_any()
    }
}

const LINK_REFUSED: &str =
    "This link has been used, has expired, or is incomplete. Ask for a new one.";

fn reset_password_form() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let query = use_query_map();
    let token = move || {
        let query = query.read();
        query
            .get("token")
            .filter(|_| query.get("error").is_none())
            .filter(|token| !token.is_empty())
    };
    let error = move || action.value().get().and_then(Result::err);
    let refused = move || token().is_none() || error().is_some_and(|e| e.code() == "INVALID_TOKEN");
    let pending = action.pending();
    view! {
        <Title text="Choose a new password · Taskboard" />
        <section class="card auth-card" aria-labelledby="reset-title">
            <h1 id="reset-title">"Choose a new password"</h1>
            <Show
                when=move || !refused()
                fallback=|| view! {
                    <p class="banner error" role="alert">{LINK_REFUSED}</p>
                    <p><A href="/forgot-password">"Email me a new link"</A></p>
                }
            >
                <p>"Setting it signs your account out everywhere; then you sign in with the new password."</p>
                <ActionForm action=action>
                    <input type="hidden" name="token" value=move || token().unwrap_or_default() />
                    <Field label="New password" name="new_password" kind="password" autocomplete="new-password"
                        error=Signal::derive(move || error().and_then(|e| e.message_for("newPassword"))) />
                    <p class="hint">"At least 8 characters, and not one of the common passwords."</p>
                    <p class="form-error" role="alert">{move || form_error(error())}</p>
                    <button type="submit" class="primary" disabled=pending aria-busy=move || pending.get().to_string()>
                        {move || if pending.get() { "Saving…" } else { "Set my new password" }}
                    </button>
                </ActionForm>
            </Show>
        </section>
    }
}

/// `/confirm-email`: where a verification, approval or change-of-address link leads. It
/// says what the link will do, and does it only when its button posts the form: mail
/// gateways fetch every link they pass on, and fetching this page changes nothing. A
/// link that cannot be used says why, with no button.
pub struct ConfirmEmailPage;

#[lazy_route]
impl LazyRoute for ConfirmEmailPage {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        confirm_email().into_any()
    }
}

/// The words of a link's page: the heading, what confirming does, what to do if it was
/// not asked for, and the button's label; or why the link cannot be used.
type ConfirmWords = (&'static str, String, &'static str, &'static str);

fn confirm_words(link: &EmailLink) -> Result<ConfirmWords, &'static str> {
    Ok(match link {
        EmailLink::Verify { email } => (
            "Verify your email address",
            format!("Verify the address {email} for your Taskboard account."),
            "If you did not make this account, close this page: nothing happens unless you confirm.",
            "Confirm my address",
        ),
        EmailLink::ApproveMove { from, to } => (
            "Approve a new email address",
            format!("Approve moving your Taskboard account from {from} to {to}."),
            "Then a link goes to the new address, and the account moves when that one is confirmed. \
             This works only in a browser signed in to the account. If you did not ask for this, \
             close this page and change your password.",
            "Approve the new address",
        ),
        EmailLink::Move { to } => (
            "Use a new email address",
            format!("Move your Taskboard account to {to}."),
            "You sign in with the new address from then on. If you did not ask for this, close \
             this page: the account keeps its address.",
            "Use this address",
        ),
        EmailLink::Refused { code } => return Err(link_problem(code)),
    })
}

fn confirm_email() -> impl IntoView {
    let action = ServerAction::<ConfirmEmail>::new();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let callback = move || query.read().get("callbackURL").unwrap_or_default();
    let link = Resource::new(token, describe_email_link);
    let error = move || action.value().get().and_then(Result::err);
    let pending = action.pending();
    view! {
        <Title text="Confirm your email address · Taskboard" />
        <section class="card auth-card" aria-labelledby="confirm-title">
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let words = link.await.map_err(|e| e.to_string()).and_then(|link| {
                        confirm_words(&link).map_err(str::to_owned)
                    });
                    match words {
                        Ok((title, what, unasked, button)) => Either::Left(view! {
                            <h1 id="confirm-title">{title}</h1>
                            <p class="notice">{what}</p>
                            <p>{unasked}</p>
                            <ActionForm action=action>
                                <input type="hidden" name="token" value=token />
                                <input type="hidden" name="callback_url" value=callback />
                                <p class="form-error" role="alert">{move || form_error(error())}</p>
                                <button type="submit" class="primary" disabled=pending aria-busy=move || pending.get().to_string()>
                                    {move || if pending.get() { "Confirming…" } else { button }}
                                </button>
                            </ActionForm>
                        }),
                        Err(problem) => Either::Right(link_refused("confirm-title", problem)),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A link that did not work (under the heading `title_id`): why, and how to get another.
fn link_refused(title_id: &'static str, problem: String) -> impl IntoView {
    view! {
        <h1 id=title_id>"That link did not work"</h1>
        <p class="banner error" role="alert">{problem}</p>
        <p>"Signed in, the banner at the top sends a new link; otherwise sign in first."</p>
        <p><A href="/sign-in">"Sign in"</A></p>
    }
}

/// Why a link with Better Auth's refusal `code` did not work, and what to do.
fn link_problem(code: &str) -> &'static str {
    match code {
        "TOKEN_EXPIRED" => "This link has expired. Send yourself a new one.",
        "USER_ALREADY_EXISTS" => {
            "Another account uses that address now, so yours was not moved to it."
        }
        "INVALID_USER" => {
            "This link is for another account than the one signed in here. Sign out, then open it again."
        }
        "UNAUTHORIZED" => {
            "A change of address is approved only in a browser signed in to the account. Sign in here, then open the link again."
        }
        _ => "This link has been used or is not valid. Send yourself a new one.",
    }
}

/// `/email-verified`: where a verification, approval or change-of-address link leads
/// once confirmed, saying whether it worked and, if not, why and what to do.
pub struct EmailVerifiedPage;

#[lazy_route]
impl LazyRoute for EmailVerifiedPage {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        email_verified().into_any()
    }
}

fn email_verified() -> impl IntoView {
    let query = use_query_map();
    let approved = move || query.read().get("approved").is_some();
    let problem = move || query.read().get("error").map(|code| link_problem(&code));
    view! {
        <Title text="Email address · Taskboard" />
        <section class="card auth-card" aria-labelledby="verified-title">
            {move || match (problem(), approved()) {
                (Some(problem), _) => {
                    EitherOf3::A(link_refused("verified-title", problem.to_owned()))
                }
                (None, true) => EitherOf3::B(view! {
                    <h1 id="verified-title">"Now open the link sent to your new address"</h1>
                    <p class="notice" role="status">
                        "You approved the change. Your account moves to the new address when you open the link we just sent there."
                    </p>
                }),
                (None, false) => EitherOf3::C(view! {
                    <h1 id="verified-title">"Your email address is confirmed"</h1>
                    <p class="notice" role="status">"Thank you: emails about your account go to it from now on."</p>
                    <p><A href="/tasks" attr:class="button primary">"Open my tasks"</A></p>
                }),
            }}
        </section>
    }
}

/// Asks a signed-in person whose address is not verified to verify it, with a button
/// that (re)sends the link. A plain form post, so it works before the wasm arrives;
/// once hydrated, the same call is made in place (no form decoder in every page's wasm,
/// as with sign-out).
#[component]
pub fn VerifyBanner(user: UserResource) -> impl IntoView {
    let send = ServerAction::<SendVerificationEmail>::new();
    let location = use_location();
    let query = use_query_map();
    let here = move || location.pathname.get();
    let sent = move || query.read().get("verification").is_some();
    let send_here = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        send.dispatch(SendVerificationEmail { next: Some(here()) });
    };
    let error = move || {
        send.value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let unverified = user.await.ok().flatten().filter(|u: &Viewer| !u.email_verified);
                unverified.map(|user| view! {
                    <div class="banner verify" role="region" aria-label="Confirm your email address">
                        <p>
                            {move || if sent() {
                                format!("We sent a link to {}. Open it to confirm your address.", user.email)
                            } else {
                                format!("Your email address {} is not confirmed yet.", user.email)
                            }}
                            <span class="form-error" role="alert">{error}</span>
                        </p>
                        <form method="post" action=SendVerificationEmail::url() class="inline" on:submit=send_here>
                            <input type="hidden" name="next" value=here />
                            <button type="submit" class="ghost" disabled=send.pending()>
                                {move || if send.pending().get() {
                                    "Sending…"
                                } else if sent() {
                                    "Send it again"
                                } else {
                                    "Send me the link"
                                }}
                            </button>
                        </form>
                    </div>
                })
            })}
        </Transition>
    }
}

/// The account page's change of address: the link goes to the new address (once a
/// verified current address has approved it), and the account moves when it is opened.
pub fn change_email_form(current: Option<Viewer>) -> impl IntoView {
    let action = ServerAction::<ChangeEmail>::new();
    let query = use_query_map();
    let sent = move || query.read().get("email").is_some();
    let error = move || action.value().get().and_then(Result::err);
    let (email, verified) = current.map_or((String::new(), false), |v| (v.email, v.email_verified));
    view! {
        <h3>"Change your email address"</h3>
        <p>
            "Your address is " <strong>{email}</strong>
            {if verified { " (confirmed)." } else { " (not confirmed yet)." }}
        </p>
        <ActionForm action=action attr:aria-label="Change your email address">
            <Field label="New email address" name="new_email" kind="email" autocomplete="email"
                error=Signal::derive(move || error().and_then(|e| e.message_for("newEmail"))) />
            <Field label="Your password" name="email_password" kind="password" autocomplete="current-password"
                error=Signal::derive(move || error().and_then(|e| e.message_for("emailPassword"))) />
            <p class="hint">
                {if verified {
                    "We first email your current address, to approve the change; then a link goes to the new address. Your account moves to it when you open that one."
                } else {
                    "We email a link to the new address. Your account moves to it when you open the link."
                }}
            </p>
            <p class="form-error" role="alert">{move || form_error(error())}</p>
            <p class="saved" role="status">
                {move || sent().then_some(if verified {
                    "Check your current address: approve the change from the email on its way there."
                } else {
                    "Check the new address: the link is on its way."
                })}
            </p>
            <button type="submit" class="primary" disabled=action.pending()>
                {move || if action.pending().get() { "Sending…" } else { "Send the link" }}
            </button>
        </ActionForm>
    }
}
