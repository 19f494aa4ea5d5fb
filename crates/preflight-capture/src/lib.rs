//! The pure input parsers behind `preflight explain`: HAR files and pasted HTTP message heads,
//! rebuilt into browser-model [`Scenario`](preflight::browser::Scenario)s. A crate of its own, light on
//! dependencies, so that the fuzz targets (`fuzz/`) and tests can call them; the `preflight`
//! binary (`preflight-cli`) uses them unchanged.

pub mod har;
pub mod paste;
mod rebuild;

pub use rebuild::{origin_of, script_headers, Item};
