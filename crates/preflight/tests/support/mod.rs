//! Shared by the browser-vector tests: where the vectors are, and how an evaluation is compared
//! with an expectation.
#![allow(dead_code)]

use std::path::PathBuf;

use preflight::browser::{Evaluation, Expect};

/// `vectors/browser/`.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vectors/browser")
}

/// Every difference between what `e` expects and what `ev` says, one message each.
pub fn compare(e: &Expect, ev: &Evaluation) -> Vec<String> {
    let mut out = Vec::new();
    if e.preflight != ev.preflight {
        out.push(format!(
            "preflight: expected {}, got {}",
            e.preflight, ev.preflight
        ));
    }
    if let Some(h) = &e.preflight_request_headers {
        let got = ev.preflight_request_headers.clone().unwrap_or_default();
        for (k, v) in h {
            let g = got.get(k).cloned().flatten();
            if &g != v {
                out.push(format!(
                    "preflight_request_headers[{k}]: expected {v:?}, got {g:?}"
                ));
            }
        }
    }
    if e.outcome != ev.outcome {
        out.push(format!(
            "outcome: expected {:?}, got {:?} ({:?})",
            e.outcome,
            ev.outcome,
            ev.reason.map(|r| r.code())
        ));
    }
    if e.failure_stage != ev.failure_stage {
        out.push(format!(
            "failure_stage: expected {:?}, got {:?}",
            e.failure_stage, ev.failure_stage
        ));
    }
    if let Some(x) = &e.exposed_headers {
        if x != &ev.exposed_headers {
            out.push(format!(
                "exposed_headers: expected {x:?}, got {:?}",
                ev.exposed_headers
            ));
        }
    }
    if let Some(o) = &e.origin_header {
        if Some(o) != ev.origin_header.as_ref() {
            out.push(format!(
                "origin_header: expected {o:?}, got {:?}",
                ev.origin_header
            ));
        }
    }
    out
}
