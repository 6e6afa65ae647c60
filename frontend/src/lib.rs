//! The browser entry point: hydrates the server-rendered page and nothing else. Lazy
//! routes' chunks (built with `cargo leptos build --split`) are fetched before the page
//! they render is hydrated.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
