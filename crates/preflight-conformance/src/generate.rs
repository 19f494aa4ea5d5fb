//! The scenario generator.
use preflight::browser::Scenario;

/// The systematic catalogue.
pub fn systematic() -> Vec<Scenario> {
    Vec::new()
}

/// `n` random scenarios for `seed`.
pub fn random(_seed: u64, _n: usize) -> Vec<Scenario> {
    Vec::new()
}
