//! Entry point: everything testable lives in the library.

fn main() {
    // A panic's message in the console (what `console_error_panic_hook` gives, without its
    // JS stack capture: the first-load budget has no room for it).
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
    leptos::mount::mount_to_body(kwit_web::App);
}
