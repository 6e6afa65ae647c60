//! The task page: rendered on the server on first load, then changed through the API.

use crate::{
    error::AppError,
    tasks::{
        client,
        types::{NewTask, Task, TaskPatch, TaskTitle},
    },
    ui::UserResource,
};
use leptos::{either::EitherOf3, prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    components::Redirect,
    hooks::{use_location, use_navigate},
};

const SIGN_IN_AND_BACK: &str = "/sign-in?next=/tasks";

/// The tasks for the first render. On the server this reads the repository directly for
/// the session in the request's cookie; in the browser (after client-side navigation)
/// it asks the API, like every other task request the page makes.
async fn load_tasks() -> Result<Vec<Task>, AppError> {
    #[cfg(feature = "ssr")]
    {
        use crate::{
            context::cookie_session,
            state::AppState,
            tasks::{repo, types::ListFilter},
        };
        let state = AppState::from_context()?;
        // Not `signed_in`: this resource streams after the headers are sent, so it could
        // not renew the access cookie anyway (the page's user resource already did).
        let (_, user) = cookie_session(&state)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let filter = ListFilter {
            completed: None,
            limit: ListFilter::MAX_LIMIT,
            offset: 0,
        };
        Ok(repo::list_tasks(&state.db, &user.id, &filter).await?)
    }
    #[cfg(not(feature = "ssr"))]
    {
        // Browser futures are single-threaded; resources may be polled only where made.
        send_wrapper::SendWrapper::new(client::list_tasks()).await
    }
}

#[component]
pub fn TasksPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    // Navigating to a lazy route keeps this page mounted until the new page's chunk has
    // arrived, and the user is reloaded for the new address meanwhile. On the way out the
    // page keeps what it shows, then shows nothing: no second redirect that would drop
    // the new address (signed out on the way to sign in, say), and no task list loaded
    // again for a page that is being left.
    let pathname = use_location().pathname;
    let here = pathname.get_untracked();
    let leaving = Signal::derive(move || pathname.with(|now| *now != here));
    view! {
        <Title text="Your tasks · Taskboard" />
        <Transition fallback=|| view! { <p class="loading" role="status">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let user = user.await;
                (!leaving.get_untracked()).then(|| match user {
                    Ok(Some(user)) => EitherOf3::A(view! { <TaskLoader user_id=user.id /> }),
                    Ok(None) => EitherOf3::B(view! { <Redirect path=SIGN_IN_AND_BACK /> }),
                    Err(e) => EitherOf3::C(view! { <p class="banner error" role="alert">{e.to_string()}</p> }),
                })
            })}
        </Transition>
    }
}

#[component]
fn TaskLoader(user_id: String) -> impl IntoView {
    let user_id = StoredValue::new(user_id);
    let tasks = Resource::new(|| (), |_| load_tasks());
    view! {
        <Suspense fallback=|| view! { <p class="loading" role="status">"Loading your tasks…"</p> }>
            {move || Suspend::new(async move {
                match tasks.await {
                    Ok(list) => EitherOf3::A(view! { <TaskBoard initial=list user_id=user_id.get_value() /> }),
                    Err(e) if e.needs_sign_in() => EitherOf3::B(view! { <Redirect path=SIGN_IN_AND_BACK /> }),
                    Err(e) => EitherOf3::C(view! { <p class="banner error" role="alert">{e.to_string()}</p> }),
                }
            })}
        </Suspense>
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    Open,
    Done,
}

impl Filter {
    fn admits(self, task: &Task) -> bool {
        match self {
            Self::All => true,
            Self::Open => !task.completed,
            Self::Done => task.completed,
        }
    }

    fn empty_message(self) -> &'static str {
        match self {
            Self::All => "No tasks yet. Add your first one above.",
            Self::Open => "Nothing left to do. Nice work!",
            Self::Done => "No finished tasks yet.",
        }
    }
}

/// What every part of the board shares: the list and how to report a failed request.
#[derive(Clone, Copy)]
struct Board {
    tasks: RwSignal<Vec<Task>>,
    report: Callback<AppError>,
    /// See `crate::ui::hydrated`.
    ready: ReadSignal<bool>,
    /// Whose board this is: a kept draft goes back only to the person who typed it.
    user_id: StoredValue<String>,
}

#[component]
fn TaskBoard(initial: Vec<Task>, user_id: String) -> impl IntoView {
    let tasks = RwSignal::new(initial);
    let filter = RwSignal::new(Filter::All);
    let banner = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    let report = Callback::new(move |error: AppError| {
        if error.needs_sign_in() {
            navigate("/sign-in?next=/tasks&reason=expired", Default::default());
        } else if error.is_user_disabled() {
            navigate("/sign-in?next=/tasks&reason=disabled", Default::default());
        } else {
            banner.set(Some(error.to_string()));
        }
    });
    provide_context(Board {
        tasks,
        report,
        ready: crate::ui::hydrated(),
        user_id: StoredValue::new(user_id),
    });

    let count = move |f: Filter| tasks.with(|all| all.iter().filter(|t| f.admits(t)).count());
    let visible = move || {
        let f = filter.get();
        tasks.with(|all| {
            all.iter()
                .filter(|t| f.admits(t))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let filter_button = move |f: Filter, label: &'static str| {
        view! {
            <button type="button" class="chip" aria-pressed=move || (filter.get() == f).to_string()
                on:click=move |_| filter.set(f)>
                {label} " " <span class="chip-count">{move || count(f)}</span>
            </button>
        }
    };

    view! {
        <section class="board" aria-labelledby="tasks-title">
            <h1 id="tasks-title">"Your tasks"</h1>
            <Show when=move || banner.get().is_some()>
                <div class="banner error" role="alert">
                    <span>{move || banner.get()}</span>
                    <button type="button" class="ghost" on:click=move |_| banner.set(None)>"Dismiss"</button>
                </div>
            </Show>
            <NewTaskForm />
            <div class="toolbar">
                <div role="group" aria-label="Filter tasks" class="chips">
                    {filter_button(Filter::All, "All")}
                    {filter_button(Filter::Open, "Open")}
                    {filter_button(Filter::Done, "Done")}
                </div>
                <p class="counts" aria-live="polite">
                    {move || format!("{} open · {} done", count(Filter::Open), count(Filter::Done))}
                </p>
            </div>
            <Show
                when=move || !visible().is_empty()
                fallback=move || view! { <p class="empty">{move || filter.get().empty_message()}</p> }
            >
                <ul class="task-list" aria-label="Tasks">
                    <For each=visible key=|t| (t.id.clone(), t.updated_at.clone()) let:task>
                        <TaskItem task />
                    </For>
                </ul>
            </Show>
        </section>
    }
}

#[component]
fn NewTaskForm() -> impl IntoView {
    let board = expect_context::<Board>();
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let pending = RwSignal::new(false);
    // Effects run only in the browser: put back what was typed before a sign-in.
    Effect::new(move || {
        if let Some((kept_title, kept_description)) = draft::take(&board.user_id.read_value()) {
            title.set(kept_title);
            description.set(kept_description);
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let new = NewTask {
            title: title.get_untracked(),
            description: Some(description.get_untracked()).filter(|d| !d.trim().is_empty()),
            completed: None,
        };
        if let Err(invalid) = new.parse() {
            error.set(Some(invalid));
            return;
        }
        error.set(None);
        pending.set(true);
        spawn_local(async move {
            match client::create_task(&new).await {
                Ok(task) => {
                    board.tasks.update(|all| all.push(task));
                    title.set(String::new());
                    description.set(String::new());
                }
                Err(e @ AppError::Validation(_)) => error.set(Some(e)),
                Err(e) => {
                    if e.needs_sign_in() || e.is_user_disabled() {
                        draft::keep(
                            &board.user_id.read_value(),
                            &title.get_untracked(),
                            &description.get_untracked(),
                        );
                    }
                    board.report.run(e);
                }
            }
            pending.set(false);
        });
    };
    let field_error =
        move |field: &'static str| move || error.get().and_then(|e| e.message_for(field));

    view! {
        <form class="card new-task" on:submit=submit aria-label="Add a task" novalidate>
            <div class="field">
                <label for="new-task-title">"Title"</label>
                <input id="new-task-title" name="title" bind:value=title maxlength="200"
                    placeholder="What needs doing?" autocomplete="off"
                    aria-invalid=move || field_error("title")().is_some().to_string()
                    aria-describedby="new-task-title-error" />
                <p class="field-error" id="new-task-title-error">{field_error("title")}</p>
            </div>
            <div class="field">
                <label for="new-task-description">"Description " <span class="optional">"(optional)"</span></label>
                <textarea id="new-task-description" name="description" bind:value=description rows="2"
                    maxlength="2000" aria-describedby="new-task-description-error"></textarea>
                <p class="field-error" id="new-task-description-error">{field_error("description")}</p>
            </div>
            <button type="submit" class="primary" disabled=move || pending.get() || !board.ready.get()
                aria-busy=move || pending.get().to_string()>
                {move || if pending.get() { "Adding…" } else { "Add task" }}
            </button>
        </form>
    }
}

#[component]
fn TaskItem(task: Task) -> impl IntoView {
    let board = expect_context::<Board>();
    let busy = RwSignal::new(false);
    let editing = RwSignal::new(false);
    let locked = move || busy.get() || !board.ready.get();
    let draft = RwSignal::new(task.title.clone());
    let edit_error = RwSignal::new(None::<String>);
    let id = StoredValue::new(task.id.clone());

    let replace = move |updated: Task| {
        board.tasks.update(|all| {
            if let Some(slot) = all.iter_mut().find(|t| t.id == updated.id) {
                *slot = updated;
            }
        })
    };
    let patch = move |change: TaskPatch| {
        busy.set(true);
        spawn_local(async move {
            match client::update_task(&id.get_value(), &change).await {
                Ok(updated) => replace(updated),
                Err(e @ AppError::Validation(_)) => edit_error.set(e.message_for("title")),
                Err(e) => board.report.run(e),
            }
            busy.set(false);
        });
    };
    let completed = task.completed;
    let toggle = move |_| {
        patch(TaskPatch {
            completed: Some(!completed),
            ..Default::default()
        })
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match TaskTitle::parse(&draft.get_untracked()) {
            Err(e) => edit_error.set(Some(e.msg)),
            Ok(title) => patch(TaskPatch {
                title: Some(title.as_str().to_owned()),
                ..Default::default()
            }),
        }
    };
    let original_title = task.title.clone();
    let cancel = move || {
        editing.set(false);
        edit_error.set(None);
        draft.set(original_title.clone());
    };
    let cancel_on_escape = {
        let cancel = cancel.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            if ev.key() == "Escape" {
                cancel();
            }
        }
    };
    let remove = move |_| {
        busy.set(true);
        spawn_local(async move {
            let id = id.get_value();
            match client::delete_task(&id).await {
                Ok(()) => board.tasks.update(|all| all.retain(|t| t.id != id)),
                Err(e) => {
                    busy.set(false);
                    board.report.run(e);
                }
            }
        });
    };

    let checkbox_id = format!("task-{}", task.id);
    let edit_id = format!("task-{}-edit", task.id);
    let title = task.title.clone();
    view! {
        <li class="task" class:done=completed aria-busy=move || busy.get().to_string()>
            // Named by the title itself too: its label goes while the edit form is shown.
            <input type="checkbox" id=checkbox_id.clone() checked=completed on:change=toggle
                disabled=locked aria-label=title.clone() />
            <Show
                when=move || editing.get()
                fallback={
                    let title = title.clone();
                    let description = task.description.clone();
                    let checkbox_id = checkbox_id.clone();
                    move || view! {
                        <div class="task-text">
                            <label for=checkbox_id.clone() class="task-title">{title.clone()}</label>
                            {description.clone().map(|d| view! { <p class="task-description">{d}</p> })}
                        </div>
                        <div class="task-actions">
                            <button type="button" class="ghost" aria-label=format!("Edit {title}")
                                disabled=locked on:click=move |_| editing.set(true)>"Edit"</button>
                            <button type="button" class="ghost danger" aria-label=format!("Delete {title}")
                                disabled=locked on:click=remove>"Delete"</button>
                        </div>
                    }
                }
            >
                <form class="task-edit" on:submit=save>
                    <label for=edit_id.clone() class="visually-hidden">"New title"</label>
                    <input id=edit_id.clone() bind:value=draft maxlength="200" autofocus
                        on:keydown=cancel_on_escape.clone()
                        aria-describedby=format!("{edit_id}-error") />
                    <button type="submit" class="primary" disabled=move || busy.get()>
                        {move || if busy.get() { "Saving…" } else { "Save" }}
                    </button>
                    <button type="button" class="ghost" on:click={
                        let cancel = cancel.clone();
                        move |_| cancel()
                    }>"Cancel"</button>
                    <p class="field-error" id=format!("{edit_id}-error")>{move || edit_error.get()}</p>
                </form>
            </Show>
        </li>
    }
}

/// Typed but unsent input survives the trip to the sign-in page: it waits in the tab's
/// `sessionStorage` and goes back into the form when the same person's task page opens
/// again. Anyone else signing in on that tab finds it gone.
mod draft {
    const KEY: &str = "taskboard.new-task-draft";

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.session_storage().ok()?
    }

    /// Best effort: with storage full or blocked, only the draft is lost.
    pub fn keep(user_id: &str, title: &str, description: &str) {
        if let (Some(storage), Ok(value)) = (
            storage(),
            serde_json::to_string(&(user_id, title, description)),
        ) {
            let _ = storage.set_item(KEY, &value);
        }
    }

    pub fn take(user_id: &str) -> Option<(String, String)> {
        let storage = storage()?;
        let value = storage.get_item(KEY).ok()??;
        let _ = storage.remove_item(KEY);
        let (owner, title, description): (String, String, String) =
            serde_json::from_str(&value).ok()?;
        (owner == user_id).then_some((title, description))
    }
}
