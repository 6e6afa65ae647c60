//! The sign-in and sign-up pages, the header's account area, and the account page (its
//! sessions, and "Use the API" with its API tokens).

use crate::{
    auth::{
        api_tokens::{in_words, ApiAccess, IssuedApiToken, OFFERED_LIFETIMES},
        email_pages::change_email_form,
        second_factor_pages::two_factor_settings,
        server_fns::{
            list_sessions, load_api_access, ChangePassword, DeleteAccount, IssueApiToken,
            ResendVerification, RevokeSession, SignIn, SignOut, SignOutEverywhere, SignUp,
            UpdateProfile,
        },
        types::{Role, SessionInfo},
    },
    error::AppError,
    ui::{form_error, Field, UserResource},
};
use leptos::{
    either::{Either, EitherOf3},
    prelude::*,
    server_fn::ServerFn,
};
use leptos_meta::Title;
use leptos_router::{
    components::{Redirect, A},
    hooks::use_query_map,
    lazy_route, LazyRoute,
};

/// The sign-in page. Like sign-up, account and admin, its code is a wasm chunk of its own
/// in split builds, fetched the first time the page is shown.
pub struct SignInPage;

#[lazy_route]
impl LazyRoute for SignInPage {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        sign_in_form().into_any()
    }
}

fn sign_in_form() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let notice = move || match query.read().get("reason").as_deref() {
        Some("expired") => Some("Your session has ended. Sign in again to continue."),
        Some("disabled") => Some("Your account has been disabled. Contact an administrator."),
        Some("deleted") => Some("Your account and its tasks have been deleted."),
        Some("reset") => Some(
            "Your password is changed, and every session of your account was signed out. \
             Sign in with the new password.",
        ),
        _ => query
            .read()
            .get("verify")
            .map(|_| "We emailed you a link to confirm your address. Open it, then sign in here."),
    };
    let error = move || action.value().get().and_then(Result::err);
    let unverified = move || {
        error().is_some_and(|e| e.code() == EMAIL_NOT_VERIFIED)
            || query.read().get("verify").is_some()
    };
    let pending = action.pending();
    view! {
        <section class="card auth-card" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in"</h1>
            <Show when=move || notice().is_some()>
                <p class="notice" role="status">{notice}</p>
            </Show>
            <ActionForm action=action>
                <input type="hidden" name="next" value=next />
                <Field label="Email" name="email" kind="email" autocomplete="email"
                    error=Signal::derive(move || error().and_then(|e| e.message_for("email"))) />
                <Field label="Password" name="password" kind="password" autocomplete="current-password"
                    error=Signal::derive(move || error().and_then(|e| e.message_for("password"))) />
                <p class="form-error" role="alert">{move || form_error(error())}</p>
                <button type="submit" class="primary" disabled=pending aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="switch"><A href="/forgot-password">"Forgot your password?"</A></p>
            <p class="switch">"New here? " <A href="/sign-up">"Create an account"</A></p>
        </section>
        <Show when=unverified>
            {resend_verification_form()}
        </Show>
    }
}

/// Better Auth's code for a sign-in refused until the address is verified.
const EMAIL_NOT_VERIFIED: &str = "EMAIL_NOT_VERIFIED";

/// Sends the verification link again, to whoever's address is typed: offered when
/// sign-in waits for one.
fn resend_verification_form() -> impl IntoView {
    let action = ServerAction::<ResendVerification>::new();
    let error = move || action.value().get().and_then(Result::err);
    view! {
        <section class="card auth-card" aria-labelledby="resend-title">
            <h2 id="resend-title">"Confirm your address first"</h2>
            <p>"Sign-in opens once your email address is confirmed. No link, or an old one? We can send a new one."</p>
            <ActionForm action=action>
                <Field label="Your email" name="email" kind="email" autocomplete="email"
                    error=Signal::derive(move || error().and_then(|e| e.message_for("email"))) />
                <p class="form-error" role="alert">{move || form_error(error())}</p>
                <button type="submit" class="ghost" disabled=action.pending()>
                    {move || if action.pending().get() { "Sending…" } else { "Send me a new link" }}
                </button>
            </ActionForm>
        </section>
    }
}

pub struct SignUpPage;

#[lazy_route]
impl LazyRoute for SignUpPage {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        sign_up_form().into_any()
    }
}

fn sign_up_form() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || action.value().get().and_then(Result::err);
    let pending = action.pending();
    view! {
        <section class="card auth-card" aria-labelledby="sign-up-title">
            <h1 id="sign-up-title">"Create your account"</h1>
            <ActionForm action=action>
                <input type="hidden" name="next" value=next />
                <Field label="Name" name="name" autocomplete="name"
                    error=Signal::derive(move || error().and_then(|e| e.message_for("name"))) />
                <Field label="Email" name="email" kind="email" autocomplete="email"
                    error=Signal::derive(move || error().and_then(|e| e.message_for("email"))) />
                <Field label="Password" name="password" kind="password" autocomplete="new-password"
                    error=Signal::derive(move || error().and_then(|e| e.message_for("password"))) />
                <p class="hint">"At least 8 characters, and not one of the common passwords."</p>
                <p class="form-error" role="alert">{move || form_error(error())}</p>
                <button type="submit" class="primary" disabled=pending aria-busy=move || pending.get().to_string()>
                    {move || if pending.get() { "Creating account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="switch">"Already have an account? " <A href="/sign-in">"Sign in"</A></p>
        </section>
    }
}

/// Who is signed in, with a sign-out button; or links to sign in and up.
///
/// The button is a plain form post to the server function, so it works before the wasm
/// arrives; once hydrated, the same call is made in place, and the function's redirect
/// goes to sign-in. Not an `ActionForm`: that decodes the form's fields, and this form
/// has none, so every page's wasm would carry a form decoder for nothing.
#[component]
pub fn AccountArea(user: UserResource) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let sign_out_here = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        sign_out.dispatch(SignOut {});
    };
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => Either::Left(view! {
                        <span class="who">"Signed in as " <strong>{user.name}</strong></span>
                        <Show when=move || user.role == Role::Admin>
                            <A href="/admin">"Admin"</A>
                        </Show>
                        <A href="/account">"Account"</A>
                        <form method="post" action=SignOut::url() class="inline" on:submit=sign_out_here>
                            <button type="submit" class="ghost">"Sign out"</button>
                        </form>
                    }),
                    _ => Either::Right(view! {
                        <A href="/sign-in">"Sign in"</A>
                        <A href="/sign-up" attr:class="button">"Sign up"</A>
                    }),
                }
            })}
        </Transition>
    }
}

/// The account page: every browser and client signed in to the user's account, each one
/// revocable, a way to sign out everywhere at once, API tokens for scripts (each with a
/// session of its own, listed and revoked under "Use the API"), and the account itself:
/// name, password, deletion.
pub struct AccountPage;

#[lazy_route]
impl LazyRoute for AccountPage {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        let issue = ServerAction::<IssueApiToken>::new();
        let revoke = ServerAction::<RevokeSession>::new();
        let sessions = Resource::new(
            move || (revoke.version().get(), issue.version().get()),
            |_| list_sessions(),
        );
        view! {
            {sessions_list(sessions, revoke)}
            {use_the_api(issue, sessions, revoke)}
            {two_factor_settings()}
            {account_settings()}
        }
        .into_any()
    }
}

/// The user's sessions, browsers' and API tokens' alike, as `list_sessions` answers them.
type SessionsResource = Resource<Result<Vec<SessionInfo>, AppError>>;

/// The browsers and clients signed in: the sessions that are not an API token's (those
/// are listed under "Use the API"). A session is an API token's by the mark the server
/// gave it, not by its user agent, which whoever signs in chooses: a browser that calls
/// itself "API token (tasks:read)" is listed here.
fn sessions_list(sessions: SessionsResource, revoke: ServerAction<RevokeSession>) -> impl IntoView {
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let ready = crate::ui::hydrated();
    view! {
        <Title text="Your sessions · Taskboard" />
        <section class="card account-page" aria-labelledby="account-title">
            <h1 id="account-title">"Your sessions"</h1>
            <p>
                "Every browser and client signed in to your account. Sign out any you do not recognise. "
                "Your API tokens are listed under “Use the API”."
            </p>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading sessions…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(list) => EitherOf3::A(view! {
                            <ul class="sessions" aria-label="Sessions">
                                {list
                                    .into_iter()
                                    .filter(|s| !s.api_token)
                                    .map(|s| view! { <SessionRow session=s revoke ready /> })
                                    .collect_view()}
                            </ul>
                        }),
                        Err(e) if e.needs_sign_in() => EitherOf3::B(view! { <Redirect path="/sign-in?next=/account" /> }),
                        Err(e) => EitherOf3::C(view! { <p class="banner error" role="alert">{e.to_string()}</p> }),
                    }
                })}
            </Transition>
            <ActionForm action=everywhere>
                <p class="hint" id="everywhere-hint">
                    "Signs out every browser, this one included, and revokes your API tokens."
                </p>
                <button type="submit" class="danger" disabled=everywhere.pending() aria-describedby="everywhere-hint">
                    {move || if everywhere.pending().get() { "Signing out…" } else { "Sign out everywhere" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// The person's name, password and account. Each form is a plain post to its server
/// function, so it works before the wasm has loaded.
fn account_settings() -> impl IntoView {
    let rename = ServerAction::<UpdateProfile>::new();
    let change = ServerAction::<ChangePassword>::new();
    let delete = ServerAction::<DeleteAccount>::new();
    let viewer = use_context::<UserResource>();
    // A new name shows in the header at once.
    Effect::new(move |_| {
        if matches!(rename.value().get(), Some(Ok(()))) {
            if let Some(user) = viewer {
                user.refetch();
            }
        }
    });
    let renamed = move || matches!(rename.value().get(), Some(Ok(())));
    let rename_error = move || rename.value().get().and_then(Result::err);
    let changed = move || matches!(change.value().get(), Some(Ok(())));
    let change_error = move || change.value().get().and_then(Result::err);
    let delete_error = move || delete.value().get().and_then(Result::err);
    view! {
        <section class="card account-settings" aria-labelledby="settings-title">
            <h2 id="settings-title">"Your account"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let viewer_now = match viewer {
                        Some(user) => user.await.ok().flatten(),
                        None => None,
                    };
                    let name = viewer_now.as_ref().map(|user| user.name.clone());
                    view! {
                        <ActionForm action=rename attr:aria-label="Profile">
                            <Field label="Name" name="name" autocomplete="name" value=name.unwrap_or_default()
                                error=Signal::derive(move || rename_error().and_then(|e| e.message_for("name"))) />
                            <p class="form-error" role="alert">{move || form_error(rename_error())}</p>
                            <p class="saved" role="status">{move || renamed().then_some("Name saved.")}</p>
                            <button type="submit" class="primary" disabled=rename.pending()>
                                {move || if rename.pending().get() { "Saving…" } else { "Save name" }}
                            </button>
                        </ActionForm>
                        {change_email_form(viewer_now)}
                    }
                })}
            </Transition>

            <h3>"Change your password"</h3>
            <ActionForm action=change attr:aria-label="Change your password">
                <Field label="Current password" name="current_password" kind="password" autocomplete="current-password"
                    error=Signal::derive(move || change_error().and_then(|e| e.message_for("currentPassword"))) />
                <Field label="New password" name="new_password" kind="password" autocomplete="new-password"
                    error=Signal::derive(move || change_error().and_then(|e| e.message_for("newPassword"))) />
                <p class="hint">"At least 8 characters, and not one of the common passwords."</p>
                <label class="check">
                    <input type="checkbox" name="sign_out_others" value="on" checked aria-describedby="sign-out-others-hint" />
                    "Sign out my other sessions"
                </label>
                <p class="hint" id="sign-out-others-hint">
                    "And revoke your API tokens. A new password stops them working either way: issue new ones after."
                </p>
                <p class="form-error" role="alert">{move || form_error(change_error())}</p>
                <p class="saved" role="status">{move || changed().then_some("Password changed.")}</p>
                <button type="submit" class="primary" disabled=change.pending()>
                    {move || if change.pending().get() { "Changing…" } else { "Change password" }}
                </button>
            </ActionForm>

            <h3>"Delete your account"</h3>
            <p>
                "This deletes your account and every one of your tasks, and signs you out everywhere. "
                "It cannot be undone."
            </p>
            <ActionForm action=delete attr:aria-label="Delete your account">
                <Field label="Password" name="password" kind="password" autocomplete="current-password"
                    error=Signal::derive(move || delete_error().and_then(|e| e.message_for("password"))) />
                <p class="form-error" role="alert">{move || form_error(delete_error())}</p>
                <button type="submit" class="danger" disabled=delete.pending()>
                    {move || if delete.pending().get() { "Deleting…" } else { "Delete my account" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// How to call the API from a script: the curl lines for this site, the reference at
/// `/docs`, and a form that issues a token. The token comes back in the server
/// function's answer and nowhere else, so the form needs the wasm: without it a plain
/// post would issue a token that no page could show. Its button waits for it, as the
/// session list's do. Below the form, the API tokens the user has, each revocable.
fn use_the_api(
    issue: ServerAction<IssueApiToken>,
    sessions: SessionsResource,
    revoke: ServerAction<RevokeSession>,
) -> impl IntoView {
    let access = Resource::new(|| (), |_| load_api_access());
    let ready = crate::ui::hydrated();
    let error = move || {
        issue
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let issued = move || issue.value().get().and_then(Result::ok);
    view! {
        <section class="card api-access" aria-labelledby="api-title">
            <h2 id="api-title">"Use the API"</h2>
            <p>
                "Scripts call the tasks API with a token in the " <code>"Authorization"</code>
                " header. The " <a href="/docs" rel="external">"API reference"</a>
                " lists every route and what it answers."
            </p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    access.await.ok().map(|access| view! {
                        <p>"Sign in and fetch a token with curl:"</p>
                        <pre class="curl"><code>{curl_lines(&access)}</code></pre>
                        <p>
                            "Or issue a token here, for a script that should not know your password. "
                            "It has a session of its own, so signing out of the browser that issued it does not end it: "
                            "revoke it under “Your API tokens” below, or with “Sign out everywhere”."
                        </p>
                        <p>
                            "Revoking it refuses the token at once here, but a service that checks only its signature and claims (one that verifies against "
                            <code>"/api/auth/jwks"</code>
                            ", say) accepts it until it expires, so choose the shortest lifetime that works."
                        </p>
                        <ActionForm action=issue attr:class="api-token-form">
                            <div class="field">
                                <label for="api-token-scope">"Access"</label>
                                <select id="api-token-scope" name="scope">
                                    <option value="tasks:read" selected>"Read only (tasks:read)"</option>
                                    <option value="tasks:read tasks:write">"Read and write (tasks:read tasks:write)"</option>
                                </select>
                            </div>
                            <div class="field">
                                <label for="api-token-lifetime">"Expires after"</label>
                                <select id="api-token-lifetime" name="lifetime_secs">
                                    {OFFERED_LIFETIMES
                                        .into_iter()
                                        .filter(|secs| *secs <= access.max_lifetime_secs)
                                        .map(|secs| view! { <option value=secs.to_string()>{in_words(secs)}</option> })
                                        .collect_view()}
                                </select>
                            </div>
                            <p class="form-error" role="alert">{error}</p>
                            <button type="submit" class="primary" disabled=move || issue.pending().get() || !ready.get()>
                                {move || if issue.pending().get() { "Issuing…" } else { "Issue token" }}
                            </button>
                        </ActionForm>
                    })
                })}
            </Transition>
            {move || issued().map(|issued| view! { <IssuedToken issued /> })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    // An error is shown, or sends to sign-in, in the list of sessions.
                    let tokens: Vec<_> = sessions
                        .await
                        .map(|list| list.into_iter().filter(|s| s.api_token).collect())
                        .unwrap_or_default();
                    (!tokens.is_empty()).then(|| view! {
                        <h3>"Your API tokens"</h3>
                        <ul class="sessions" aria-label="API tokens">
                            {tokens.into_iter().map(|token| view! { <ApiTokenRow token revoke ready /> }).collect_view()}
                        </ul>
                    })
                })}
            </Transition>
        </section>
    }
}

/// The curl lines that sign in, exchange the session for a JWT and list the tasks, for
/// this site and this person. An email may hold `'`, `"`, `$` or `\` before its `@`:
/// the sign-in body is JSON written by serde_json, and it and the site's URL are each one
/// shell word taken literally, so a pasted line sends that email and runs nothing else.
fn curl_lines(access: &ApiAccess) -> String {
    let sign_in = serde_json::json!({ "email": access.email, "password": "<your password>" });
    format!(
        "BASE={origin}\n\
         SESSION=$(curl -s \"$BASE/api/auth/sign-in/email\" -H 'content-type: application/json' \\\n  \
         -d {body} | jq -r .token)\n\
         JWT=$(curl -s \"$BASE/api/auth/token\" -H \"authorization: Bearer $SESSION\" | jq -r .token)\n\
         curl -s \"$BASE/api/tasks\" -H \"authorization: Bearer $JWT\"",
        origin = shell_quoted(&access.origin),
        body = shell_quoted(&sign_in.to_string()),
    )
}

/// `text` as one POSIX shell word taken literally: in single quotes, within which
/// nothing is special but `'` itself, written `'\''` (end the quotes, a quoted `'`,
/// quote again).
fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A token just issued, in a read-only field to select or copy: it is shown this once.
#[component]
fn IssuedToken(issued: IssuedApiToken) -> impl IntoView {
    let field = NodeRef::<leptos::html::Input>::new();
    let copied = RwSignal::new(false);
    let token = issued.token.clone();
    let copy = move |_| {
        if let Some(field) = field.get() {
            field.select();
        }
        copied.set(copy_to_clipboard(&token));
    };
    view! {
        <div class="issued-token" role="status">
            <p>
                <strong>"Copy this token now: it is shown only once."</strong>
                " " {issued.scope} " · expires " {short_time(&issued.expires_at)}
            </p>
            <div class="token-row">
                <input type="text" readonly aria-label="API token" value=issued.token node_ref=field
                    on:focus=move |_| { if let Some(field) = field.get() { field.select(); } } />
                <button type="button" class="ghost" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </div>
    }
}

/// Puts `text` on the clipboard through the Clipboard API, found at run time (web-sys's
/// bindings for it are not among the crate's features); `false` where the browser has
/// none. The field stays selected either way, for Ctrl+C.
fn copy_to_clipboard(text: &str) -> bool {
    use web_sys::{
        js_sys::{Function, Reflect},
        wasm_bindgen::{JsCast, JsValue},
    };
    let Some(window) = web_sys::window() else {
        return false;
    };
    let member = |of: &JsValue, name: &str| {
        Reflect::get(of, &JsValue::from_str(name))
            .ok()
            .filter(|value| !value.is_undefined())
    };
    let Some(clipboard) =
        member(window.as_ref(), "navigator").and_then(|navigator| member(&navigator, "clipboard"))
    else {
        return false;
    };
    member(&clipboard, "writeText")
        .and_then(|write| write.dyn_into::<Function>().ok())
        .is_some_and(|write| write.call1(&clipboard, &JsValue::from_str(text)).is_ok())
}

#[component]
fn SessionRow(
    session: SessionInfo,
    revoke: ServerAction<RevokeSession>,
    ready: ReadSignal<bool>,
) -> impl IntoView {
    let device = describe_client(session.user_agent.as_deref());
    let id = session.id.clone();
    let name = format!("Sign out {device}");
    view! {
        <li class="session">
            <div>
                <strong>{device}</strong>
                {session.current.then(|| view! { <span class="badge">"This browser"</span> })}
                <p class="meta">
                    {session.ip_address.unwrap_or_else(|| "unknown address".to_owned())}
                    " · signed in " {short_time(&session.created_at)}
                    " · last used " {short_time(&session.last_used_at)}
                </p>
            </div>
            {(!session.current).then(|| revoke_button(revoke, ready, id, name, "Sign out"))}
        </li>
    }
}

/// An API token's session: what it may do (its label, `API token (tasks:read)`), when it
/// was issued and when it expires. Not when it was last used: the token's requests do not
/// touch its session's row, so that is not known.
#[component]
fn ApiTokenRow(
    token: SessionInfo,
    revoke: ServerAction<RevokeSession>,
    ready: ReadSignal<bool>,
) -> impl IntoView {
    let label = token.user_agent.unwrap_or_else(|| "API token".to_owned());
    let issued = short_time(&token.created_at);
    // Two tokens of one scope are told apart by when they were issued.
    let name = format!("Revoke {label}, issued {issued}");
    view! {
        <li class="session">
            <div>
                <strong>{label}</strong>
                <p class="meta">
                    "issued " {issued} " · expires " {short_time(&token.expires_at)}
                </p>
            </div>
            {revoke_button(revoke, ready, token.id, name, "Revoke")}
        </li>
    }
}

/// A button that ends the session `id` through `revoke`, named `name` for a screen
/// reader. It waits for the wasm: the list it is in is refreshed in place after.
fn revoke_button(
    revoke: ServerAction<RevokeSession>,
    ready: ReadSignal<bool>,
    id: String,
    name: String,
    text: &'static str,
) -> impl IntoView {
    view! {
        <button type="button" class="ghost" disabled=move || revoke.pending().get() || !ready.get()
            aria-label=name
            on:click=move |_| { revoke.dispatch(RevokeSession { id: id.clone() }); }>
            {text}
        </button>
    }
}

/// `2026-11-25T07:26:06.123456Z` as `2026-11-25 07:26 UTC`.
fn short_time(stored: &str) -> String {
    format!(
        "{} UTC",
        stored
            .replacen('T', " ", 1)
            .chars()
            .take(16)
            .collect::<String>()
    )
}

/// A person's name for a user agent: the browser and the system, roughly.
fn describe_client(user_agent: Option<&str>) -> String {
    let Some(agent) = user_agent.filter(|a| !a.is_empty()) else {
        return "Unknown client".to_owned();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(marker, _)| agent.contains(marker))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| agent.contains(marker))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(name), None) | (None, Some(name)) => name.to_owned(),
        (None, None) => agent.chars().take(40).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_named_by_browser_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(describe_client(Some(chrome)), "Chrome on Linux");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_client(Some(iphone)), "Safari on iOS");
        assert_eq!(describe_client(Some("curl/8.5.0")), "curl");
        assert_eq!(describe_client(None), "Unknown client");
    }

    #[test]
    fn the_curl_lines_name_this_site_and_this_person() {
        let lines = curl_lines(&ApiAccess {
            origin: "https://tasks.example.com".to_owned(),
            email: "ada@example.com".to_owned(),
            max_lifetime_secs: 3600,
        });
        assert!(
            lines.starts_with("BASE='https://tasks.example.com'\n"),
            "{lines}"
        );
        assert!(lines.contains(r#"{"email":"ada@example.com","#), "{lines}");
        for route in ["/api/auth/sign-in/email", "/api/auth/token", "/api/tasks"] {
            assert!(
                lines.contains(&format!("\"$BASE{route}\"")),
                "{route}: {lines}"
            );
        }
    }

    /// The words of a POSIX shell line up to the first unquoted `|`, as `sh` splits and
    /// un-quotes them (single quotes, double quotes without expansions, backslashes).
    fn shell_words(line: &str) -> Vec<String> {
        let (mut words, mut word, mut in_word) = (Vec::new(), String::new(), false);
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    in_word = true;
                    word.extend(chars.by_ref().take_while(|c| *c != '\''));
                }
                '"' => {
                    in_word = true;
                    word.extend(chars.by_ref().take_while(|c| *c != '"'));
                }
                '\\' => {
                    in_word = true;
                    word.extend(chars.next());
                }
                '|' if !in_word => break,
                c if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut word));
                        in_word = false;
                    }
                }
                c => {
                    in_word = true;
                    word.push(c);
                }
            }
        }
        if in_word {
            words.push(word);
        }
        words
    }

    #[test]
    fn an_email_with_quotes_and_dollars_reaches_the_sign_in_as_that_email_and_runs_nothing() {
        let email = r#"a'b"c$d\e@x.io"#;
        let lines = curl_lines(&ApiAccess {
            origin: "https://tasks.example.com".to_owned(),
            email: email.to_owned(),
            max_lifetime_secs: 3600,
        });
        let sign_in = lines
            .split("\\\n")
            .nth(1)
            .expect("the sign-in's continued line");
        let words = shell_words(sign_in);
        let [flag, body] = words.as_slice() else {
            panic!("-d and one word, then the pipe: {words:?} from {sign_in}");
        };
        assert_eq!(flag, "-d");
        let body: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(body["email"], email);
        assert_eq!(body["password"], "<your password>");
    }

    #[test]
    fn times_are_shown_to_the_minute() {
        assert_eq!(
            short_time("2026-11-25T07:26:06.123456Z"),
            "2026-11-25 07:26 UTC"
        );
    }
}
