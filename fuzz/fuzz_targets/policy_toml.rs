//! `Policy::from_toml`: never panics; an accepted policy's config recompiles
//! (`Policy::new(p.config())`), serializes to TOML that loads back to the same config, and
//! lints; a rejected one reports at least one error, each with a message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use preflight::{Config, Policy, Severity};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::from_toml(s) {
        Ok(p) => {
            let cfg = p.config();
            assert!(
                Policy::new(cfg).is_ok(),
                "config of a policy does not recompile"
            );
            let toml = cfg.to_toml();
            let back = Config::from_toml(&toml).expect("to_toml output loads");
            assert_eq!(&back, cfg, "TOML round trip changed the config:\n{toml}");
            let _ = cfg.lint();
        }
        Err(e) => {
            assert!(e.errors().next().is_some(), "rejected without an error");
            for d in e.diagnostics() {
                assert!(!d.message.is_empty());
                let _ = d.to_string();
                let _ = d.severity == Severity::Error;
            }
            let _ = e.to_string();
        }
    }
    let _ = Config::from_toml(s);
});
