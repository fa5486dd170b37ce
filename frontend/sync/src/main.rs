//! The sync worker: runs each posted job with [`kwit_sync::handle`], posting its updates.
//! Trunk builds it as a `no-modules` worker with a loader shim (frontend/index.html).

#[cfg(target_arch = "wasm32")]
fn main() {
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply_to = scope.clone();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let reply_to = reply_to.clone();
        wasm_bindgen_futures::spawn_local(async move {
            kwit_sync::handle(event.data(), |update| {
                let _ = reply_to.post_message(&JsValue::from_str(&update));
            })
            .await;
        });
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // Messages sent before this point would be lost: the app waits for this one.
    let _ = scope.post_message(&JsValue::from_str("ready"));
}

/// Natively there is no worker.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
