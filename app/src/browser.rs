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

/// A `<textarea>` the user owns: its text lives in the DOM, not in a signal, and the page only
/// writes it on purpose (a file read into it, a refused key cleared). A field bound with
/// `prop:value` to a signal is rewritten whenever its view is rebuilt, which a lazy route does
/// once more shortly after hydration: text typed in that moment was lost.
#[derive(Clone, Copy, Default)]
pub struct OwnedText(pub leptos::prelude::NodeRef<leptos::html::Textarea>);

impl OwnedText {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the field's text (in the browser; on the server there is no field).
    pub fn set(self, text: &str) {
        #[cfg(feature = "hydrate")]
        {
            use leptos::prelude::Get;
            if let Some(field) = self.0.get() {
                field.set_value(text);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = text;
    }
}
