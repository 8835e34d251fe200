//! A write's change to live credentials and allow lists, said before the admin confirms it.

use leptos::prelude::*;

use crate::api::changes::{ChangeWords, PendingChange};


/// The change in words: credentials, allow lists, and the stop-working warning.
#[component]
pub fn ChangeList(change: ChangeWords) -> impl IntoView {
    view! {
        {change.warning.map(|w| view! { <p class="alert error" role="alert" data-testid="stop-working">{w}</p> })}
        {(!change.credentials.is_empty()).then(|| view! {
            <ul class="plain-list" data-testid="credential-changes">
                {change.credentials.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
            </ul>
        })}
        {(!change.allow_lists.is_empty()).then(|| view! {
            <ul class="plain-list" data-testid="allow-list-changes">
                {change.allow_lists.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
            </ul>
        })}
    }
}

/// Inside the form that made the preview: what applying it does, and the button that sends the
/// same form again with the preview's token. Shown for `target` only, when given (a page with
/// one form per row).
#[component]
pub fn ConfirmChange(pending: Signal<Option<PendingChange>>, #[prop(optional)] target: Option<String>, what: String) -> impl IntoView {
    move || {
        pending.get().filter(|p| target.is_none() || p.target == target).map(|p| {
            let label = format!("Apply this change: {what}");
            view! {
                <div class="note" role="status" data-testid="change-preview">
                    <p><strong>{format!("Before you apply ({what}): this changes live credentials.")}</strong></p>
                    {p.note.map(|n| view! { <p class="alert">{n}</p> })}
                    <ChangeList change=p.change/>
                    <button type="submit" class="button danger" name="confirm" value=p.confirm aria-label=label>"Apply this change"</button>
                </div>
            }
        })
    }
}
