//! Kwit in the browser.
