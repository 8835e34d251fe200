//! In the browser: what was typed into a plain form survives its refusal.
//!
//! Islands mode posts every form outside an island without wasm: the browser leaves the page,
//! and a refused post comes back to it with `?__path=<function>&__err=…` and empty fields. At
//! submit the form's fields are kept in `sessionStorage`; back on the page with that form's
//! error they are put back, and on the next page load they are forgotten either way.
//! A form is known by its action and its hidden fields (the row it acts on), not by its place:
//! rows added meanwhile do not move the values to another row's form.
//! The error is shown in every form of that function that has a place for it (the server cannot
//! tell them apart): once it is known which one was sent, it is hidden in the others.
//! Never kept: passwords (also while shown as text), hidden and file inputs, fields marked
//! `data-no-memory` (key material, text read from a file), and any text holding a private key.

use leptos::prelude::{document, window};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlFormElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement, Storage, UrlSearchParams};

const PREFIX: &str = "certgate.form:";
/// The key of the form sent last.
const SENT: &str = "certgate.form.sent";

/// Puts back the fields of the form refused just now (if any), forgets every kept form, and
/// keeps each form's fields when it is submitted from now on.
pub fn install() {
    let Some(storage) = window().session_storage().ok().flatten() else { return };
    restore_refused(&storage);
    let _ = storage.clear();
    let on_submit = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
        let form = event.target().and_then(|t| t.dyn_into::<HtmlFormElement>().ok());
        if let (Some(form), Some(storage)) = (form, window().session_storage().ok().flatten()) {
            if let Some(key) = key_of(&form) {
                let _ = storage.set_item(&key, &fields_of(&form));
                let _ = storage.set_item(SENT, &key);
            }
        }
    });
    // Capture: before any other handler, and before the browser leaves the page.
    let _ = document().add_event_listener_with_callback_and_bool("submit", on_submit.as_ref().unchecked_ref(), true);
    on_submit.forget();
}

/// A server-function form's key: its action and the values of its hidden fields.
fn key_of(form: &HtmlFormElement) -> Option<String> {
    let action = form.get_attribute("action").filter(|a| a.starts_with("/fn/"))?;
    let identity = UrlSearchParams::new().ok()?;
    let elements = form.elements();
    for i in 0..elements.length() {
        if let Some(hidden) = elements.item(i).and_then(|e| e.dyn_into::<HtmlInputElement>().ok()).filter(|e| e.type_() == "hidden") {
            identity.append(&hidden.name(), &hidden.value());
        }
    }
    Some(format!("{PREFIX}{action}?{}", String::from(identity.to_string())))
}

/// The form's fields by position, as a query string (`3=text&5=1`).
fn fields_of(form: &HtmlFormElement) -> String {
    let Ok(kept) = UrlSearchParams::new() else { return String::new() };
    let elements = form.elements();
    for i in 0..elements.length() {
        if let Some(value) = elements.item(i).and_then(|e| value_of(&e)) {
            kept.append(&i.to_string(), &value);
        }
    }
    kept.to_string().into()
}

fn value_of(element: &Element) -> Option<String> {
    if element.has_attribute("data-no-memory") {
        return None;
    }
    let value = if let Some(input) = element.dyn_ref::<HtmlInputElement>() {
        // A password field with "Show" pressed is `type=text`: its autocomplete still says.
        if input.get_attribute("autocomplete").is_some_and(|a| a.contains("password")) {
            return None;
        }
        match input.type_().as_str() {
            "password" | "hidden" | "file" | "submit" | "button" | "reset" | "image" => return None,
            "checkbox" | "radio" => return Some(if input.checked() { "1" } else { "0" }.to_string()),
            _ => input.value(),
        }
    } else if let Some(select) = element.dyn_ref::<HtmlSelectElement>() {
        select.value()
    } else {
        element.dyn_ref::<HtmlTextAreaElement>()?.value()
    };
    (!value.contains("PRIVATE KEY")).then_some(value)
}

/// Back with a form's error (`__path`): that function's forms get their kept fields again.
fn restore_refused(storage: &Storage) {
    let Ok(search) = window().location().search() else { return };
    let Ok(query) = UrlSearchParams::new_with_str(&search) else { return };
    let (Some(path), true) = (query.get("__path"), query.has("__err")) else { return };
    let Ok(forms) = document().query_selector_all("form") else { return };
    // None when the form was posted before the wasm ran: then every error stays shown.
    let sent = storage.get_item(SENT).ok().flatten();
    for i in 0..forms.length() {
        let Some(form) = forms.item(i).and_then(|n| n.dyn_into::<HtmlFormElement>().ok()) else { continue };
        if form.get_attribute("action").as_deref() != Some(path.as_str()) {
            continue;
        }
        let Some(key) = key_of(&form) else { continue };
        if sent.as_deref().is_some_and(|sent| sent != key) {
            hide_errors_in(&form);
            continue;
        }
        let Some(kept) = storage.get_item(&key).ok().flatten() else { continue };
        let Ok(kept) = UrlSearchParams::new_with_str(&kept) else { continue };
        let elements = form.elements();
        for j in 0..elements.length() {
            if let (Some(element), Some(value)) = (elements.item(j), kept.get(&j.to_string())) {
                put_back(&element, &value);
            }
        }
    }
}

fn hide_errors_in(form: &HtmlFormElement) {
    let Ok(alerts) = form.query_selector_all("[role=alert]") else { return };
    for i in 0..alerts.length() {
        if let Some(alert) = alerts.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
            let _ = alert.set_attribute("hidden", "");
        }
    }
}

fn put_back(element: &Element, value: &str) {
    if let Some(input) = element.dyn_ref::<HtmlInputElement>() {
        match input.type_().as_str() {
            "checkbox" | "radio" => input.set_checked(value == "1"),
            _ => input.set_value(value),
        }
    } else if let Some(select) = element.dyn_ref::<HtmlSelectElement>() {
        select.set_value(value);
    } else if let Some(area) = element.dyn_ref::<HtmlTextAreaElement>() {
        area.set_value(value);
    }
}
