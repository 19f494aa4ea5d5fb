//! `preflight-conformance`: runs CORS scenarios through real headless Chromium and compares
//! what it does, field by field, with the browser model's `chromium` behaviour.
//!
//! ```text
//! preflight-conformance [--scenarios FILE.jsonl]... [--generate N --seed S[,S...]] [--systematic]
//!                       [--ci] [--skips FILE] [--chromium PATH] [--conc N] [--emit FILE] [--all]
//! ```
//!
//! Prints every disagreement as a scenario JSON line (with `observed`, `model` and `mismatch`
//! fields attached; `preflight explain --scenario` reads it), the skips with their reasons, the
//! Chromium version and the throughput, and ends with `N passed, M failed`. Exit status: 0 when
//! all agree, 1 on any disagreement, 2 on a usage or setup error.

mod compare;
mod generate;
mod rewrite;
mod server;
mod skips;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use preflight::browser::Scenario;
use preflight_conformance::cdp;
use serde_json::{json, Value};

const USAGE: &str = "usage: preflight-conformance [--scenarios FILE.jsonl]... [--generate N --seed S[,S...]] [--systematic] [--ci] [--skips FILE] [--chromium PATH] [--conc N] [--emit FILE] [--all]";

/// The CI set: every vector plus the systematic catalogue plus these seeds.
const CI_SEEDS: &[u64] = &[1, 2, 3];
/// Random scenarios per CI seed.
const CI_PER_SEED: usize = 150;

struct Args {
    scenarios: Vec<PathBuf>,
    generate: usize,
    seeds: Vec<u64>,
    systematic: bool,
    skips: PathBuf,
    chromium: String,
    conc: usize,
    emit: Option<PathBuf>,
    all: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        scenarios: Vec::new(),
        generate: 0,
        seeds: Vec::new(),
        systematic: false,
        skips: PathBuf::from("vectors/browser/SKIPS.toml"),
        chromium: std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        conc: 32,
        emit: None,
        all: false,
    };
    let mut it = std::env::args().skip(1);
    let mut ci = false;
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--scenarios" => a.scenarios.push(val("--scenarios")?.into()),
            "--generate" => {
                a.generate = val("--generate")?
                    .parse()
                    .map_err(|e| format!("--generate: {e}"))?
            }
            "--seed" => {
                for s in val("--seed")?.split(',') {
                    a.seeds
                        .push(s.trim().parse().map_err(|e| format!("--seed {s}: {e}"))?);
                }
            }
            "--systematic" => a.systematic = true,
            "--skips" => a.skips = val("--skips")?.into(),
            "--chromium" => a.chromium = val("--chromium")?,
            "--conc" => a.conc = val("--conc")?.parse().map_err(|e| format!("--conc: {e}"))?,
            "--emit" => a.emit = Some(val("--emit")?.into()),
            "--all" => a.all = true,
            "--ci" => ci = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if ci {
        let dir = std::fs::read_dir("vectors/browser")
            .map_err(|e| format!("--ci: cannot read vectors/browser: {e}"))?;
        let mut files: Vec<PathBuf> = dir
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        a.scenarios.extend(files);
        a.systematic = true;
        a.generate = CI_PER_SEED;
        a.seeds = CI_SEEDS.to_vec();
    }
    if a.generate > 0 && a.seeds.is_empty() {
        return Err("--generate needs --seed".into());
    }
    if a.scenarios.is_empty() && a.generate == 0 && !a.systematic {
        return Err(
            "nothing to run: give --scenarios, --generate/--seed, --systematic or --ci".into(),
        );
    }
    a.conc = a.conc.max(1);
    Ok(a)
}

fn load(path: &PathBuf) -> Result<Vec<Scenario>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let s: Scenario = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: not a scenario: {e}", path.display(), n + 1))?;
        out.push(s);
    }
    Ok(out)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            if e.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("preflight-conformance: {e}");
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let args = parse_args()?;
    let mut scenarios: Vec<Scenario> = Vec::new();
    for f in &args.scenarios {
        scenarios.extend(load(f)?);
    }
    let n_vectors = scenarios.len();
    if args.systematic {
        scenarios.extend(generate::systematic());
    }
    let n_systematic = scenarios.len() - n_vectors;
    for &seed in &args.seeds {
        scenarios.extend(generate::random(seed, args.generate));
    }
    let n_random = scenarios.len() - n_vectors - n_systematic;
    if let Some(path) = &args.emit {
        let mut text = String::new();
        for s in &scenarios {
            text.push_str(&serde_json::to_string(s).map_err(|e| e.to_string())?);
            text.push('\n');
        }
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }

    // Skips.
    let rules = skips::Skips::load(&args.skips)?;
    let mut runnable = Vec::new();
    let mut skipped: Vec<(String, String)> = Vec::new();
    for s in scenarios {
        match rules.reason(&s) {
            Some(r) => skipped.push((s.id.clone(), r)),
            None => runnable.push(s),
        }
    }

    let version = chromium_version(&args.chromium)?;
    println!("# {version}");
    println!(
        "# scenarios: {n_vectors} from files, {n_systematic} systematic, {n_random} generated (seeds {:?} x {}), {} skipped",
        args.seeds,
        args.generate,
        skipped.len()
    );

    let t0 = Instant::now();
    let observed = run_browser(&args, &runnable)?;
    let elapsed = t0.elapsed();

    let mut passed = 0usize;
    let mut failed = 0usize;
    let mut n_ok = 0usize;
    let mut n_preflight = 0usize;
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    for (s, obs) in runnable.iter().zip(&observed) {
        let model = preflight::browser::evaluate(s, preflight::browser::Behavior::Chromium);
        let names: Vec<String> = s
            .request
            .headers
            .iter()
            .map(|h| h.0.to_ascii_lowercase())
            .collect();
        let mismatch = compare::compare(&model, obs, &names);
        n_ok += usize::from(obs.outcome == Some(preflight::browser::Outcome::Ok));
        n_preflight += usize::from(obs.preflight);
        let key = obs
            .cors_error
            .clone()
            .or_else(|| obs.net_error.clone().filter(|e| !e.is_empty()))
            .or_else(|| obs.js_error.as_ref().map(|_| "fetch() threw".to_string()));
        if let Some(k) = key.filter(|_| obs.outcome != Some(preflight::browser::Outcome::Ok)) {
            *reasons.entry(k).or_default() += 1;
        }
        if mismatch.is_empty() {
            passed += 1;
            if args.all {
                println!("PASS {}", s.id);
            }
        } else {
            failed += 1;
            let mut line = serde_json::to_value(s).map_err(|e| e.to_string())?;
            line["mismatch"] = json!(mismatch);
            line["observed"] = serde_json::to_value(obs).map_err(|e| e.to_string())?;
            line["model"] = compare::model_json(&model);
            println!("{line}");
        }
    }
    let mut by_reason: std::collections::BTreeMap<&str, usize> = Default::default();
    for (_, r) in &skipped {
        *by_reason.entry(r.as_str()).or_default() += 1;
    }
    println!("# skipped {} scenarios:", skipped.len());
    for (r, n) in by_reason {
        println!("#   {n:4}  {r}");
    }
    println!(
        "# Chromium: {n_ok} ok, {} network errors, {n_preflight} preflights sent; failures by reason:",
        runnable.len() - n_ok
    );
    for (r, n) in &reasons {
        println!("#   {n:5}  {r}");
    }
    let rate = runnable.len() as f64 / elapsed.as_secs_f64().max(1e-9);
    println!(
        "# {version}: {} scenarios in {:.2} s (browser start included) = {rate:.0} scenarios/s",
        runnable.len(),
        elapsed.as_secs_f64()
    );
    println!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}

fn chromium_version(chromium: &str) -> Result<String, String> {
    let out = std::process::Command::new(chromium)
        .arg("--version")
        .output()
        .map_err(|e| {
            format!("cannot run {chromium} --version: {e} (run scripts/install-browser)")
        })?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if v.is_empty() {
        return Err(format!("{chromium} --version printed nothing"));
    }
    Ok(v)
}

/// The in-page batch: fetch() every case with at most `conc` in flight; never throws. A case
/// with `seq` makes its fetches in order (each announced to the server by its control URL, at
/// its `at` seconds after the first) and reports the last, with the others in `before`. The
/// body marker `"__stream__"` becomes a one-chunk `ReadableStream` with `duplex: "half"`.
const IN_PAGE: &str = r#"(async (cases, conc) => {
  const out = new Array(cases.length); let next = 0;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  function init(i) {
    const x = Object.assign({}, i);
    if (x.body === "__stream__") {
      x.body = new ReadableStream({ start(c) { c.enqueue(new Uint8Array([120])); c.close(); } });
      x.duplex = "half";
    }
    return x;
  }
  async function one(c) {
    try {
      const r = await fetch(c.url, init(c.init));
      try { await r.arrayBuffer(); } catch (e) {}
      return { ok: true, status: r.status, type: r.type, headers: [...r.headers.keys()] };
    } catch (e) { return { ok: false, error: String(e) }; }
  }
  async function seq(c) {
    const t0 = performance.now(); const res = [];
    for (const s of c.seq) {
      const wait = t0 + s.at * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      try { await fetch(s.ctl, { mode: "no-cors", cache: "no-store" }); } catch (e) {}
      res.push(await one(s));
    }
    const last = res.pop(); last.before = res; return last;
  }
  const worker = async () => { while (next < cases.length) { const i = next++; out[i] = cases[i].seq ? await seq(cases[i]) : await one(cases[i]); } };
  await Promise.all(Array.from({ length: conc }, worker));
  return out;
})"#;

fn run_browser(args: &Args, scenarios: &[Scenario]) -> Result<Vec<compare::Observed>, String> {
    let run = format!(
        "r{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let keys = rewrite::keys(scenarios);
    let listeners = server::Server::bind(keys.len())
        .map_err(|e| format!("cannot bind the scenario server: {e}"))?;
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("scenario server: {e}"))?;
    let plan = rewrite::Plan::build(&run, scenarios, &keys, &ports);
    let srv = server::Server::start(&run, plan.served.clone(), listeners)
        .map_err(|e| format!("cannot start the scenario server: {e}"))?;

    let mut browser = cdp::Browser::launch(&args.chromium, "MAP * 127.0.0.1")?;
    let res = drive(&mut browser, &plan, args.conc);
    let events = std::mem::take(&mut browser.events);
    browser.close();
    let results = res?;
    Ok(compare::collect(&plan, &srv, results, &events))
}

fn drive(
    browser: &mut cdp::Browser,
    plan: &rewrite::Plan,
    conc: usize,
) -> Result<Vec<Value>, String> {
    let t = Duration::from_secs(30);
    let ctx = browser.call(None, "Target.createBrowserContext", json!({}), t)?;
    let ctx_id = ctx["browserContextId"].clone();
    let target = browser.call(
        None,
        "Target.createTarget",
        json!({"url": "about:blank", "browserContextId": ctx_id}),
        t,
    )?;
    let att = browser.call(
        None,
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
        t,
    )?;
    let session = att["sessionId"]
        .as_str()
        .ok_or("attachToTarget: no sessionId")?
        .to_string();
    let s = Some(session.as_str());
    browser.call(s, "Page.enable", json!({}), t)?;
    browser.call(s, "Network.enable", json!({}), t)?;
    browser.call(s, "Log.enable", json!({}), t)?;
    let mut results: Vec<Value> = vec![Value::Null; plan.cases.len()];
    for (page, idxs) in plan.groups() {
        browser.call(s, "Page.navigate", json!({"url": page}), t)?;
        if !browser.wait_event(&session, "Page.loadEventFired", t) {
            return Err(format!("page {page} did not load"));
        }
        let cases: Vec<Value> = idxs.iter().map(|&i| plan.cases[i].js.clone()).collect();
        let expr = format!(
            "{IN_PAGE}({}, {conc})",
            serde_json::to_string(&cases).map_err(|e| e.to_string())?
        );
        let r = browser.call(
            s,
            "Runtime.evaluate",
            json!({"expression": expr, "awaitPromise": true, "returnByValue": true}),
            Duration::from_secs(600),
        )?;
        let arr = r["result"]["value"]
            .as_array()
            .ok_or_else(|| format!("in-page batch on {page} returned no array: {r}"))?;
        for (&i, v) in idxs.iter().zip(arr) {
            results[i] = v.clone();
        }
    }
    browser.drain(Duration::from_millis(300));
    Ok(results)
}
