//! The pages of second factors: `/two-factor`, where a sign-in waits for a code from the
//! authenticator app or a backup code, and the account page's section that turns them
//! on and off, makes new backup codes and lists the trusted browsers. Every form works
//! as a plain post before the wasm has loaded, except showing a new secret and new
//! backup codes, which only a server function's answer carries.

use crate::{
    auth::{
        server_fns::{
            two_factor_status, ConfirmTwoFactor, DisableTwoFactor, ForgetDevice, NewBackupCodes,
            StartTwoFactor, UseBackupCode, VerifyTwoFactor,
        },
        types::{TrustedDeviceInfo, TwoFactorSetup},
    },
    ui::{form_error, Field},
};
use leptos::{either::Either, prelude::*};
use leptos_router::{hooks::use_query_map, lazy_route, LazyRoute};

/// The page a sign-in waits on for its second factor.
pub struct TwoFactorPage;

#[lazy_route]
impl LazyRoute for TwoFactorPage {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        second_factor_forms().into_any()
    }
}

fn second_factor_forms() -> impl IntoView {
    let totp = ServerAction::<VerifyTwoFactor>::new();
    let backup = ServerAction::<UseBackupCode>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let totp_error = move || totp.value().get().and_then(Result::err);
    let backup_error = move || backup.value().get().and_then(Result::err);
    view! {
        <section class="card auth-card" aria-labelledby="two-factor-title">
            <h1 id="two-factor-title">"Enter your code"</h1>
            <p>"Open your authenticator app and enter the 6-digit code it shows for Taskboard."</p>
            <ActionForm action=totp attr:aria-label="Authenticator code">
                <input type="hidden" name="next" value=next />
                <Field label="Code" name="code" autocomplete="one-time-code"
                    error=Signal::derive(move || totp_error().and_then(|e| e.message_for("code"))) />
                {trust_checkbox()}
                <p class="form-error" role="alert">{move || form_error(totp_error())}</p>
                <button type="submit" class="primary" disabled=totp.pending()>
                    {move || if totp.pending().get() { "Checking…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <details class="backup-code">
                <summary>"Lost your phone? Use a backup code"</summary>
                <ActionForm action=backup attr:aria-label="Backup code">
                    <input type="hidden" name="next" value=next />
                    <Field label="Backup code" name="backup_code" autocomplete="off"
                        error=Signal::derive(move || backup_error().and_then(|e| e.message_for("code"))) />
                    {trust_checkbox()}
                    <p class="form-error" role="alert">{move || form_error(backup_error())}</p>
                    <button type="submit" class="ghost" disabled=backup.pending()>
                        {move || if backup.pending().get() { "Checking…" } else { "Sign in with a backup code" }}
                    </button>
                </ActionForm>
            </details>
            <p class="switch"><a href="/sign-in">"Start again"</a></p>
        </section>
    }
}

fn trust_checkbox() -> impl IntoView {
    view! {
        <label class="check">
            <input type="checkbox" name="trust_device" value="on" />
            "Trust this browser for 30 days"
        </label>
    }
}

/// The account page's section on second factors.
pub fn two_factor_settings() -> impl IntoView {
    let start = ServerAction::<StartTwoFactor>::new();
    let confirm = ServerAction::<ConfirmTwoFactor>::new();
    let disable = ServerAction::<DisableTwoFactor>::new();
    let codes = ServerAction::<NewBackupCodes>::new();
    let forget = ServerAction::<ForgetDevice>::new();
    let status = Resource::new(
        move || {
            (
                confirm.version().get(),
                disable.version().get(),
                codes.version().get(),
                forget.version().get(),
            )
        },
        |_| two_factor_status(),
    );
    view! {
        <section class="card two-factor" aria-labelledby="two-factor-settings-title">
            <h2 id="two-factor-settings-title">"Two-factor sign-in"</h2>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(now) if now.enabled => Either::Left(view! {
                            <p>
                                "On: signing in asks for a code from your authenticator app. "
                                {format!("{} backup codes left.", now.backup_codes_left)}
                            </p>
                            {new_codes_form(codes)}
                            {trusted_devices(now.trusted_devices, forget)}
                            {disable_form(disable)}
                        }),
                        Ok(_) => Either::Right(Either::Left(view! {
                            <p>"Off: your password alone signs you in."</p>
                            {enable_forms(start, confirm)}
                        })),
                        Err(e) => Either::Right(Either::Right(view! {
                            <p class="banner error" role="alert">{e.to_string()}</p>
                        })),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Turning it on: the password, then the secret and the backup codes, then a first code.
fn enable_forms(
    start: ServerAction<StartTwoFactor>,
    confirm: ServerAction<ConfirmTwoFactor>,
) -> impl IntoView {
    let start_error = move || start.value().get().and_then(Result::err);
    let confirm_error = move || confirm.value().get().and_then(Result::err);
    let setup = move || start.value().get().and_then(Result::ok);
    view! {
        <Show
            when=move || setup().is_some()
            fallback=move || view! {
                <ActionForm action=start attr:aria-label="Turn on two-factor sign-in">
                    <Field label="Password" name="two_factor_password" kind="password" autocomplete="current-password"
                        error=Signal::derive(move || start_error().and_then(|e| e.message_for("two_factor_password"))) />
                    <p class="form-error" role="alert">{move || form_error(start_error())}</p>
                    <button type="submit" class="primary" disabled=start.pending()>
                        {move || if start.pending().get() { "Starting…" } else { "Turn on" }}
                    </button>
                </ActionForm>
            }
        >
            {move || setup().map(setup_shown)}
            <ActionForm action=confirm attr:aria-label="Confirm your authenticator app">
                <Field label="Code from the app" name="first_code" autocomplete="one-time-code"
                    error=Signal::derive(move || confirm_error().and_then(|e| e.message_for("first_code"))) />
                <p class="form-error" role="alert">{move || form_error(confirm_error())}</p>
                <button type="submit" class="primary" disabled=confirm.pending()>
                    {move || if confirm.pending().get() { "Checking…" } else { "Confirm and turn on" }}
                </button>
            </ActionForm>
        </Show>
    }
}

/// The secret and the backup codes, shown this once.
fn setup_shown(setup: TwoFactorSetup) -> impl IntoView {
    view! {
        <ol class="steps">
            <li>
                "Scan this code with your authenticator app:"
                <div class="qr" role="img" aria-label="QR code of your authenticator key" inner_html=setup.qr_svg></div>
                "Or add an account with this key: "
                <code class="secret" data-testid="totp-secret">{setup.secret}</code>
                " (or open "<a href=setup.uri>"this link"</a>" on your phone)."
            </li>
            <li>
                "Keep these backup codes somewhere safe. Each signs you in once if you lose your phone; "
                "they are not shown again."
                {backup_code_list(setup.backup_codes)}
            </li>
            <li>"Enter the code the app shows now."</li>
        </ol>
    }
}

fn backup_code_list(codes: Vec<String>) -> impl IntoView {
    view! {
        <ul class="backup-codes" data-testid="backup-codes">
            {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
        </ul>
    }
}

fn new_codes_form(codes: ServerAction<NewBackupCodes>) -> impl IntoView {
    let error = move || codes.value().get().and_then(Result::err);
    let made = move || codes.value().get().and_then(Result::ok);
    view! {
        <h3>"Backup codes"</h3>
        {move || made().map(|list| view! {
            <p role="status">"Your new backup codes. The old ones no longer work."</p>
            {backup_code_list(list)}
        })}
        <ActionForm action=codes attr:aria-label="New backup codes">
            <Field label="Password" name="codes_password" kind="password" autocomplete="current-password"
                error=Signal::derive(move || error().and_then(|e| e.message_for("codes_password"))) />
            <p class="form-error" role="alert">{move || form_error(error())}</p>
            <button type="submit" class="ghost" disabled=codes.pending()>
                {move || if codes.pending().get() { "Making…" } else { "Make new backup codes" }}
            </button>
        </ActionForm>
    }
}

fn trusted_devices(
    devices: Vec<TrustedDeviceInfo>,
    forget: ServerAction<ForgetDevice>,
) -> impl IntoView {
    view! {
        <h3>"Trusted browsers"</h3>
        {if devices.is_empty() {
            Either::Left(view! { <p>"None: every sign-in asks for a code."</p> })
        } else {
            Either::Right(view! {
                <ul class="sessions">
                    {devices.into_iter().map(|device| {
                        let label = device.user_agent.clone().unwrap_or_else(|| "A browser".to_owned());
                        view! {
                            <li>
                                <span>{label}</span>
                                <span class="muted">{format!(" trusted until {}", device.expires_at.get(..10).unwrap_or_default())}</span>
                                <ActionForm action=forget attr:class="inline">
                                    <input type="hidden" name="id" value=device.id />
                                    <button type="submit" class="ghost">"Forget"</button>
                                </ActionForm>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })
        }}
    }
}

fn disable_form(disable: ServerAction<DisableTwoFactor>) -> impl IntoView {
    let error = move || disable.value().get().and_then(Result::err);
    view! {
        <h3>"Turn off"</h3>
        <ActionForm action=disable attr:aria-label="Turn off two-factor sign-in">
            <Field label="Password" name="disable_password" kind="password" autocomplete="current-password"
                error=Signal::derive(move || error().and_then(|e| e.message_for("disable_password"))) />
            <p class="form-error" role="alert">{move || form_error(error())}</p>
            <button type="submit" class="danger" disabled=disable.pending()>
                {move || if disable.pending().get() { "Turning off…" } else { "Turn off two-factor sign-in" }}
            </button>
        </ActionForm>
    }
}
