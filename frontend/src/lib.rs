//! The browser entry point: hydrate the HTML the server rendered.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::install_redirect_hook();
    leptos::mount::hydrate_body(app::App);
    app::mark_hydrated();
}
