//! The reusable part of the real-browser harness: [`cdp`], headless Chromium driven over the
//! DevTools protocol on a pipe (also used by the playground's browser tests).

pub mod cdp;
