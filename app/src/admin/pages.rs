//! The admin page: every user with their role and state, and the audit log with filters.

use crate::{
    admin::server_fns::{admin_audit_log, admin_users, AdminSetDisabled, AdminSetRole},
    audit::{AuditEvent, AuditFilter, EventKind, Outcome},
    auth::types::{Role, User},
    error::AppError,
};
use leptos::{
    either::{Either, EitherOf3},
    prelude::*,
};
use leptos_meta::Title;
use leptos_router::{components::Redirect, lazy_route, LazyRoute};

/// The admin page, a wasm chunk of its own in split builds: most people never open it.
pub struct AdminPage;

#[lazy_route]
impl LazyRoute for AdminPage {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        administration().into_any()
    }
}

fn administration() -> impl IntoView {
    let disable = ServerAction::<AdminSetDisabled>::new();
    let set_role = ServerAction::<AdminSetRole>::new();
    let changes = move || (disable.version().get(), set_role.version().get());
    let users = Resource::new(changes, |_| admin_users());
    let action_error = move || {
        disable
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| set_role.value().get().and_then(Result::err))
            .map(|e| e.to_string())
    };

    view! {
        <Title text="Admin · Taskboard" />
        <section class="admin" aria-labelledby="admin-title">
            <h1 id="admin-title">"Administration"</h1>
            <p class="form-error" role="alert">{action_error}</p>
            <h2>"Users"</h2>
            <Transition fallback=|| view! { <p class="loading" role="status">"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(list) => Either::Left(view! { <UserTable users=list disable set_role /> }),
                        Err(e) => Either::Right(refusal(e)),
                    }
                })}
            </Transition>
            <AuditLog changes=Signal::derive(changes) />
        </section>
    }
}

/// What a failed admin request shows: sign-in for the signed out, the reason otherwise.
fn refusal(error: AppError) -> impl IntoView {
    if error.needs_sign_in() {
        Either::Left(view! { <Redirect path="/sign-in?next=/admin" /> })
    } else {
        Either::Right(view! { <p class="banner error" role="alert">{error.to_string()}</p> })
    }
}

#[component]
fn UserTable(
    users: Vec<User>,
    disable: ServerAction<AdminSetDisabled>,
    set_role: ServerAction<AdminSetRole>,
) -> impl IntoView {
    let ready = crate::ui::hydrated();
    let busy = move || disable.pending().get() || set_role.pending().get() || !ready.get();
    let rows = users
        .into_iter()
        .map(|user| {
            let (id, banned, role) = (user.id.clone(), user.banned, user.role);
            let id_for_role = id.clone();
            let (next_role, role_label) = match role {
                Role::Admin => (Role::User, "Make user"),
                Role::User => (Role::Admin, "Make admin"),
            };
            view! {
                <tr>
                    <td>{user.name.clone()}</td>
                    <td>{user.email.clone()}</td>
                    <td>{role.as_str()}</td>
                    <td>{if banned { "Disabled" } else { "Active" }}</td>
                    <td class="actions">
                        <button type="button" class="ghost" disabled=busy
                            aria-label=format!("{} {}", if banned { "Enable" } else { "Disable" }, user.email)
                            on:click=move |_| {
                                disable.dispatch(AdminSetDisabled { user_id: id.clone(), disabled: !banned });
                            }>
                            {if banned { "Enable" } else { "Disable" }}
                        </button>
                        <button type="button" class="ghost" disabled=busy
                            aria-label=format!("{role_label} {}", user.email)
                            on:click=move |_| {
                                set_role.dispatch(AdminSetRole {
                                    user_id: id_for_role.clone(),
                                    role: next_role.as_str().to_owned(),
                                });
                            }>
                            {role_label}
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        // Scrolls sideways on a phone: focusable, so a keyboard can scroll it too.
        <div class="table-wrap" tabindex="0" role="region" aria-label="Users">
            <table aria-label="Users">
                <thead>
                    <tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th>"Status"</th><th>"Actions"</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[component]
fn AuditLog(changes: Signal<(usize, usize)>) -> impl IntoView {
    let event = RwSignal::new(String::new());
    let outcome = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let filter = move || AuditFilter {
        event: EventKind::parse(&event.get()),
        outcome: Outcome::parse(&outcome.get()),
        user: Some(user.get()).filter(|u| !u.trim().is_empty()),
        limit: None,
    };
    let events = Resource::new(
        move || (filter(), changes.get()),
        |(f, _)| admin_audit_log(f),
    );
    let kinds = <EventKind as strum::VariantArray>::VARIANTS
        .iter()
        .copied()
        .map(|kind| view! { <option value=kind.as_str()>{kind.label()}</option> })
        .collect_view();

    view! {
        <h2>"Audit log"</h2>
        <form class="filters" aria-label="Filter the audit log" on:submit=|ev| ev.prevent_default()>
            <div class="field">
                <label for="audit-event">"Event"</label>
                <select id="audit-event" on:change=move |ev| event.set(event_target_value(&ev))>
                    <option value="">"All events"</option>
                    {kinds}
                </select>
            </div>
            <div class="field">
                <label for="audit-outcome">"Outcome"</label>
                <select id="audit-outcome" on:change=move |ev| outcome.set(event_target_value(&ev))>
                    <option value="">"Any"</option>
                    <option value="success">"Success"</option>
                    <option value="failure">"Failure"</option>
                </select>
            </div>
            <div class="field">
                <label for="audit-user">"User"</label>
                <input id="audit-user" type="search" placeholder="Email or user id"
                    on:change=move |ev| user.set(event_target_value(&ev)) />
            </div>
        </form>
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading events…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(list) if list.is_empty() => EitherOf3::A(view! { <p class="empty">"No events match."</p> }),
                    Ok(list) => EitherOf3::B(view! { <EventTable events=list /> }),
                    Err(e) => EitherOf3::C(refusal(e)),
                }
            })}
        </Transition>
    }
}

#[component]
fn EventTable(events: Vec<AuditEvent>) -> impl IntoView {
    let rows = events
        .into_iter()
        .map(|e| {
            let failed = e.outcome == Outcome::Failure;
            view! {
                <tr class:failure=failed>
                    <td><time datetime=e.at.clone()>{e.at.replace('T', " ").chars().take(19).collect::<String>()}</time></td>
                    <td>{e.event.label()}</td>
                    <td>{if failed { "Failure" } else { "Success" }}</td>
                    <td>{e.email.or(e.user_id).unwrap_or_default()}</td>
                    <td>{e.ip_address.unwrap_or_default()}</td>
                    <td class="detail">{e.detail.unwrap_or_default()}</td>
                    <td class="agent">{e.user_agent.unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap" tabindex="0" role="region" aria-label="Audit events">
            <table aria-label="Audit events">
                <thead>
                    <tr><th>"Time (UTC)"</th><th>"Event"</th><th>"Outcome"</th><th>"User"</th><th>"Address"</th><th>"Detail"</th><th>"Client"</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
