//! Preflight core (work in progress).
#![deny(unsafe_code)]

pub mod browser;
pub mod origin;

pub use origin::{Origin, OriginError, OriginErrorKind};
