//! The browser entry point: hydrate the HTML the server rendered.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::install_redirect_hook();
    // Lazy routes: hydration waits for the page's wasm chunk (and then marks the body).
    app::hydrate_lazily();
}
