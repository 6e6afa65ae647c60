//! The sign-in and sign-up pages and the header's account area.

use crate::{
    auth::{
        server_fns::{SignIn, SignOut, SignUp},
        types::User,
    },
    error::AppError,
};
use leptos::{either::Either, prelude::*};
use leptos_router::{components::A, hooks::use_query_map};

/// The signed-in user, loaded on the server for every page and refreshed on navigation.
pub type UserResource = Resource<Result<Option<User>, AppError>>;

/// A labelled input with its validation message next to it.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    autocomplete: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                required
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=error_id.clone()
            />
            <p class="field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
}

/// The message for the form as a whole: anything that is not about one field.
fn form_error(error: Option<AppError>) -> Option<String> {
    error
        .filter(|e| !matches!(e, AppError::Validation(_)))
        .map(|e| e.to_string())
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let ended = move || query.read().get("reason").as_deref() == Some("expired");
    let error = move || action.value().get().and_then(Result::err);
    let pending = action.pending();
    view! {
        <section class="card auth-card" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">"Sign in"</h1>
            <Show when=ended>
                <p class="notice" role="status">"Your session has ended. Sign in again to continue."</p>
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
            <p class="switch">"New here? " <A href="/sign-up">"Create an account"</A></p>
        </section>
    }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
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
#[component]
pub fn AccountArea(user: UserResource) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => Either::Left(view! {
                        <span class="who">"Signed in as " <strong>{user.name}</strong></span>
                        <ActionForm action=sign_out attr:class="inline">
                            <button type="submit" class="ghost">"Sign out"</button>
                        </ActionForm>
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
