//! The pieces of UI the pages share: whether the page has hydrated, who is signed in,
//! a labelled field, and a form's message.

use crate::{auth::types::Viewer, error::AppError};
use leptos::prelude::*;

/// False until the page has hydrated (effects run only in the browser). Controls that
/// need the wasm stay disabled until then, so an early click is never silently lost.
pub fn hydrated() -> ReadSignal<bool> {
    let (ready, set_ready) = signal(false);
    Effect::new(move || set_ready.set(true));
    ready
}

/// Who is signed in, loaded on the server for every page and refreshed on navigation.
pub type UserResource = Resource<Result<Option<Viewer>, AppError>>;

/// A labelled input with its validation message next to it.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    autocomplete: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
    /// What the field holds when the page is shown.
    #[prop(optional, into)]
    value: MaybeProp<String>,
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
                value=move || value.get()
                required
                aria-invalid=move || error.get().is_some().to_string()
                aria-describedby=error_id.clone()
            />
            <p class="field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
}

/// The message for the form as a whole: anything that is not about one field.
pub fn form_error(error: Option<AppError>) -> Option<String> {
    error
        .filter(|e| !matches!(e, AppError::Validation(_)))
        .map(|e| e.to_string())
}
