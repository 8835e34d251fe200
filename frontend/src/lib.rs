//! The browser entry point: hydrate the islands of the HTML the server rendered.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::install_redirect_hook();
    // Islands mode: only the `#[island]` components are hydrated (and then the body is marked).
    app::hydrate_islands();
}
