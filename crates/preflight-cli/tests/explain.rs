//! Runs the built `preflight explain` on files in `tests/data/`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
        .arg("explain")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut i) = child.stdin.take() {
        i.write_all(stdin.unwrap_or("").as_bytes()).expect("stdin");
    }
    child.wait_with_output().expect("wait")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn scenarios_json_lines() {
    let o = run(&["--scenario", &data("examples.jsonl"), "--json"], None);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 6);
    for key in [
        "id",
        "preflight",
        "preflight_request_headers",
        "outcome",
        "failure_stage",
        "exposed_headers",
        "origin_header",
        "reason",
        "message",
        "fix",
    ] {
        assert!(lines.iter().all(|l| l.get(key).is_some()), "{key}");
    }
    let star = lines
        .iter()
        .find(|l| l["id"] == "credentialed-get-with-star")
        .expect("present");
    assert_eq!(star["reason"], "wildcard_origin_not_allowed");
    assert_eq!(star["failure_stage"], "actual");
}

#[test]
fn all_ok_exits_zero() {
    let o = run(&["--scenario", &data("ok.json")], None);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("Verdict: OK"));
}

#[test]
fn har_pairs_preflight_explains_500_and_redacts() {
    let o = run(&["--har", &data("chrome.har")], None);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("preflight paired with entry 3"), "{out}");
    assert!(
        out.contains("The server answered 500 (an error) without CORS headers"),
        "{out}"
    );
    assert!(out.contains("No 'Access-Control-Allow-Origin' header is present"));
    assert!(!out.contains("SECRET123"), "cookie leaked: {out}");
    assert!(!out.contains("SETSECRET456"), "set-cookie leaked");
    // The same-origin document is not explained.
    assert!(!out.contains("GET https://app.example.test/dashboard"));

    let o = run(
        &["--har", &data("chrome.har"), "--json", "--no-redact"],
        None,
    );
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 2);
    assert!(out.contains("\"credentials\":\"include\""));
}

#[test]
fn paste_redacts_authorization_unless_no_redact() {
    // The cookie header is browser-set and dropped from the rebuilt request, but Set-Cookie
    // values never reach the output either way; check redaction of script-set Authorization
    // through the paste path instead.
    let text = std::fs::read_to_string(data("pasted.txt")).expect("pasted");
    let o = run(&["--json"], Some(&text));
    assert!(!stdout(&o).contains("TOPSECRETTOKEN"));
    let o = run(&["--json", "--no-redact"], Some(&text));
    assert!(stdout(&o).contains("TOPSECRETTOKEN"));
}

#[test]
fn pasted_heads_under_both_behaviours() {
    let text = std::fs::read_to_string(data("pasted.txt")).expect("pasted");
    let o = run(&[], Some(&text));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("Chromium lets `*`"));
    let o = run(&["--browser", "spec", "--json"], Some(&text));
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("json");
    assert_eq!(v["reason"], "header_disallowed_by_preflight_response");
    assert_eq!(v["failure_stage"], "preflight");
}

#[test]
fn paste_without_origin_needs_flag() {
    let text =
        "GET /x HTTP/1.1\nHost: api.example.test\n\nHTTP/1.1 200 OK\nContent-Type: text/plain\n";
    let o = run(&[], Some(text));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--origin"));
    let o = run(&["--origin", "https://app.example.test"], Some(text));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn bad_inputs_exit_2_with_location() {
    let o = run(&["--scenario", &data("bad.json")], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 1"));

    let garbage = std::fs::read_to_string(data("garbage.txt")).expect("garbage");
    let o = run(&[], Some(&garbage));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 1"));

    let o = run(&["--har", &data("unknown.har")], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a HAR"));

    let o = run(&["--har", &data("bad.json")], None);
    assert_eq!(o.status.code(), Some(2));

    let o = run(&["--scenario", &data("missing-file.json")], None);
    assert_eq!(o.status.code(), Some(2));

    // Scenarios from stdin; garbage bytes never panic.
    let o = run(&["--scenario", "-"], Some("{\"id\": 1}\n"));
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[], Some("\u{0}\u{1}GET\r\n\r\n"));
    assert_eq!(o.status.code(), Some(2));
}

/// A scenario with earlier fetches (`before`): the JSON line has the earlier fetches and the
/// explanation says what the preflight cache did, under both behaviours (R31 merges, C2/C3
/// Chromium replaces).
#[test]
fn scenario_with_earlier_fetches_explains_the_preflight_cache() {
    let o = run(
        &[
            "--scenario",
            &data("cache.json"),
            "--json",
            "--browser",
            "spec",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("one json line");
    assert_eq!(v["preflight"], false);
    assert_eq!(v["at"], 2);
    let before = v["before"].as_array().expect("before");
    assert_eq!(before.len(), 2);
    assert_eq!(before[0]["fetch"], 1);
    assert_eq!(before[1]["at"], 1);
    assert!(before
        .iter()
        .all(|b| b["preflight"] == true && b["outcome"] == "ok"));
    let steps = v["steps"].to_string();
    assert!(
        steps.contains("preflight skipped: cached by earlier fetch #1 until t=600 s"),
        "{steps}"
    );

    let o = run(
        &["--scenario", &data("cache.json"), "--browser", "chromium"],
        None,
    );
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(
        text.contains("after 2 earlier fetches from the same page"),
        "{text}"
    );
    assert!(
        text.contains("its entry (from fetch #2) does not allow method PUT, so it is removed (C3)"),
        "{text}"
    );
    assert!(
        text.contains("OPTIONS https://api.example.test/r"),
        "{text}"
    );
}
