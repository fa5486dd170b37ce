//! The signer worker: answers the app's messages with [`kwit_signer::handle_message`].
//! Trunk builds it as a `no-modules` worker with a loader shim (frontend/index.html).

#[cfg(target_arch = "wasm32")]
fn main() {
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply_to = scope.clone();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let text = event.data().as_string().unwrap_or_default();
        let reply_to = reply_to.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let reply = kwit_signer::handle_message(&text).await;
            let _ = reply_to.post_message(&JsValue::from_str(&reply));
        });
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    // Messages sent before this point would be lost: the app waits for this one.
    let _ = scope.post_message(&JsValue::from_str(&kwit_signer::ready_message()));
}

/// Natively there is no worker; the library is tested instead.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
