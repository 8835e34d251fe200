//! Browser-only helpers (clipboard, files). On the server they do nothing: they are only
//! called from event handlers, which run in the browser.

/// Copies text to the clipboard.
pub fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = leptos::prelude::window().navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

/// The values of the ticked checkboxes named `name` on the page (empty on the server).
pub fn checked_values(name: &str) -> Vec<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let mut values = Vec::new();
        if let Ok(list) = leptos::prelude::document().query_selector_all(&format!("input[name=\"{name}\"]:checked")) {
            for i in 0..list.length() {
                if let Some(input) = list.item(i).and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                    values.push(input.value());
                }
            }
        }
        values
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = name;
        Vec::new()
    }
}

/// Calls `f` after each change of an input named `name` on the page (in the browser).
pub fn on_change_of(name: &'static str, f: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let handler = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
            let named = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()).is_some_and(|i| i.name() == name);
            if named {
                f();
            }
        });
        let _ = leptos::prelude::document().add_event_listener_with_callback("change", handler.as_ref().unchecked_ref());
        handler.forget();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (name, f);
}

/// Reloads the page (a secret shown once is hidden, and the page's lists are fresh).
pub fn reload() {
    #[cfg(feature = "hydrate")]
    {
        let _ = leptos::prelude::window().location().reload();
    }
}

/// Reads the first file of an `<input type=file>` and returns it as PEM text: PEM files as
/// they are, DER files wrapped in a CERTIFICATE block (the server validates either way).
#[cfg(feature = "hydrate")]
pub async fn read_certificate_file(input: web_sys::HtmlInputElement) -> Option<String> {
    use wasm_bindgen_futures::JsFuture;
    let file = input.files()?.get(0)?;
    if file.size() > 64.0 * 1024.0 {
        return Some(String::new());
    }
    let buffer = JsFuture::from(file.array_buffer()).await.ok()?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    match std::str::from_utf8(&bytes) {
        Ok(text) if text.contains("-----BEGIN") => Some(text.to_string()),
        _ => {
            let binary: String = bytes.iter().map(|b| char::from(*b)).collect();
            let b64 = leptos::prelude::window().btoa(&binary).ok()?;
            let lines: Vec<String> = b64.as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
            Some(format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n")))
        }
    }
}
