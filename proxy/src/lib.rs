//! The relay library: `app(config)` builds the router.
