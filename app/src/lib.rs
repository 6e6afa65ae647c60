//! The Taskboard app: pages, shared types, server functions and (with `ssr`) the API.

pub mod admin;
#[cfg(feature = "ssr")]
pub mod api;
pub mod audit;
pub mod auth;
pub mod error;
pub mod paths;
pub mod tasks;
pub mod ui;
pub mod wire_time;

#[cfg(feature = "ssr")]
pub mod client;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod csp;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod extract;
#[cfg(feature = "ssr")]
pub mod form_errors;
#[cfg(feature = "ssr")]
pub mod janitor;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod openapi;
#[cfg(feature = "ssr")]
pub mod private_files;
#[cfg(feature = "ssr")]
pub mod redirect;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(all(test, feature = "ssr"))]
mod testing;

use admin::pages::AdminPage;
use auth::{
    email_pages::{
        ConfirmEmailPage, EmailVerifiedPage, ForgotPasswordPage, ResetPasswordPage, VerifyBanner,
    },
    pages::{AccountArea, AccountPage, SignInPage, SignUpPage},
    second_factor_pages::TwoFactorPage,
    server_fns::current_user,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    hooks::use_location,
    path, Lazy, SsrMode,
};
use tasks::pages::TasksPage;
use ui::UserResource;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    csp::apply(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <HashedStylesheet options=options.clone() id="leptos" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                {chunk_loader_preload()}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Fetches the split build's chunk loader alongside the app's JS. The JS imports it before
/// anything runs, but Leptos names it in the `<head>` only on pages that need a chunk, so
/// on the others (the task page) the browser found it only after parsing the JS: one more
/// round trip before hydration on every cold load. Reads what `HydrationScripts` provided
/// from the split manifest; nothing when the build was not split.
fn chunk_loader_preload() -> Option<impl IntoView> {
    let manifest = use_context::<leptos::WasmSplitManifest>()?;
    let href = manifest
        .0
        .try_read_value()
        .map(|split| format!("{}/{}", split.0, split.2))?;
    Some(view! { <link rel="modulepreload" href=href /> })
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Taskboard" />
        <Router>
            <Layout />
        </Router>
    }
}

/// The header and the routes. The signed-in user is loaded before the page is sent
/// (a blocking resource, so redirects and cookie renewal can still set headers) and
/// again after every navigation, which is how sign-in and sign-out show up in the header.
#[component]
fn Layout() -> impl IntoView {
    let location = use_location();
    let user: UserResource =
        Resource::new_blocking(move || location.pathname.get(), |_| current_user());
    provide_context(user);
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <A href="/" attr:class="brand">"Taskboard"</A>
            <nav class="account" aria-label="Account">
                <AccountArea user />
            </nav>
        </header>
        <main id="main">
            <VerifyBanner user />
            <Routes fallback=NotFound>
                <Route path=path!("/") view=Home />
                // Lazy: each is a wasm chunk of its own, fetched when first shown.
                <Route path=path!("/sign-in") view={Lazy::<SignInPage>::new()} />
                <Route path=path!("/two-factor") view={Lazy::<TwoFactorPage>::new()} />
                <Route path=path!("/sign-up") view={Lazy::<SignUpPage>::new()} />
                <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordPage>::new()} />
                <Route path=path!("/reset-password") view={Lazy::<ResetPasswordPage>::new()} />
                // In order, so what the link does, and its button, work without wasm.
                <Route path=path!("/confirm-email") view={Lazy::<ConfirmEmailPage>::new()} ssr=SsrMode::InOrder />
                <Route path=path!("/email-verified") view={Lazy::<EmailVerifiedPage>::new()} />
                <Route path=path!("/account") view={Lazy::<AccountPage>::new()} ssr=SsrMode::InOrder />
                <Route path=path!("/admin") view={Lazy::<AdminPage>::new()} />
                // In order, so the list is in the HTML itself and readable before (or without) wasm.
                <Route path=path!("/tasks") view=TasksPage ssr=SsrMode::InOrder />
            </Routes>
        </main>
    }
}

#[component]
fn Home() -> impl IntoView {
    view! {
        <section class="hero">
            <h1>"Your tasks, nobody else's."</h1>
            <p>"A small, fast task list. Sign up, add what needs doing, and tick it off."</p>
            <p class="hero-actions">
                <A href="/tasks" attr:class="button primary">"Open my tasks"</A>
                <A href="/sign-up" attr:class="button">"Create an account"</A>
            </p>
        </section>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <section class="card">
            <h1>"Page not found"</h1>
            <p><A href="/">"Go home"</A></p>
        </section>
    }
}
