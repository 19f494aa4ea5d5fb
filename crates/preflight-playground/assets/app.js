// Preflight playground page. Plain JS, no dependencies. Everything shown comes from the form,
// the page origin's /api endpoints and fetch() itself; text is always inserted as text.
"use strict";

const $ = (id) => document.getElementById(id);
let cfg = null;        // {page_origin, api_origin, alt_origin}
let presets = [];
let extra = {};        // fields of an imported scenario the form does not show (id, title, pna)
let predictTimer = 0;
let predictSeq = 0;
let lastReport = null; // the bug report of the last mismatching run

const PF_FIELDS = [
  ["pf-acao", "Access-Control-Allow-Origin"],
  ["pf-acac", "Access-Control-Allow-Credentials"],
  ["pf-acam", "Access-Control-Allow-Methods"],
  ["pf-acah", "Access-Control-Allow-Headers"],
  ["pf-maxage", "Access-Control-Max-Age"],
  ["pf-pna", "Access-Control-Allow-Private-Network"],
];
const RES_FIELDS = [
  ["res-acao", "Access-Control-Allow-Origin"],
  ["res-acac", "Access-Control-Allow-Credentials"],
  ["res-aceh", "Access-Control-Expose-Headers"],
  ["res-vary", "Vary"],
  ["res-cookie", "Set-Cookie"],
];
const BODY_TEXT = { string: '{"hello":"playground"}', params: "a=1&b=two" };
const IMPLIED_TYPE = { string: "text/plain;charset=UTF-8", params: "application/x-www-form-urlencoded;charset=UTF-8" };

// ---------------------------------------------------------------- small helpers

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}

function parseHeaderLines(text) {
  const out = [];
  for (const raw of String(text || "").split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (!line.trim()) continue;
    const i = line.indexOf(":");
    if (i < 0) out.push([line.trim(), ""]);
    else out.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return out;
}

const headerLines = (list) => list.map(([k, v]) => `${k}: ${v}`).join("\n");
const same = (a, b) => String(a).toLowerCase() === String(b).toLowerCase();

function originOf(u) {
  try { return new URL(u).origin; } catch (e) { return null; }
}

function b64urlEncode(str) {
  const bytes = new TextEncoder().encode(str);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64urlDecode(s) {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

async function postJson(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  let data = null;
  try { data = await r.json(); } catch (e) { data = { error: `HTTP ${r.status}` }; }
  if (!r.ok) throw new Error((data && data.error) || `HTTP ${r.status}`);
  return data;
}

// ---------------------------------------------------------------- origins

function targetOrigin(kind) {
  return kind === "alt" ? cfg.alt_origin : kind === "page" ? cfg.page_origin : cfg.api_origin;
}

function targetKind(origin) {
  if (origin === cfg.alt_origin) return "alt";
  if (origin === cfg.page_origin) return "page";
  return "api";
}

// Moves a scenario written for any origins (e.g. https://app.example.test) onto the
// playground's: the page origin, the API origin, and the API as a third origin.
function localize(s) {
  const out = JSON.parse(JSON.stringify(s));
  const local = [cfg.page_origin, cfg.api_origin, cfg.alt_origin];
  const map = new Map();
  const free = [cfg.api_origin, cfg.alt_origin, cfg.page_origin];
  const assign = (o) => {
    if (!o || map.has(o)) return;
    if (local.includes(o)) { map.set(o, o); return; }
    const used = new Set(map.values());
    map.set(o, free.find((x) => !used.has(x)) || cfg.api_origin);
  };
  const req = out.request || {};
  if (req.origin && req.origin !== "null") map.set(req.origin, cfg.page_origin);
  assign(originOf(req.url));
  let prev = req.url;
  for (const r of out.redirects || []) {
    for (const h of r.headers || []) {
      if (!same(h[0], "location")) continue;
      let abs = null;
      try { abs = new URL(h[1], prev).href; } catch (e) { abs = null; }
      if (abs) { assign(originOf(abs)); prev = abs; }
    }
  }
  const swap = (u) => {
    const o = originOf(u);
    return o && map.has(o) ? map.get(o) + u.slice(o.length) : u;
  };
  if (req.origin && req.origin !== "null") req.origin = cfg.page_origin;
  if (req.url) req.url = swap(new URL(req.url).href);
  const keys = [...map.keys()].sort((a, b) => b.length - a.length);
  const fixAcao = (v) => {
    let s2 = String(v);
    for (const k of keys) s2 = s2.split(k).join(map.get(k));
    return s2;
  };
  const answers = [out.preflight_response, ...(out.redirects || []), out.response].filter(Boolean);
  prev = req.url;
  for (const a of answers) {
    for (const h of a.headers || []) {
      if (same(h[0], "access-control-allow-origin")) h[1] = fixAcao(h[1]);
    }
  }
  for (const r of out.redirects || []) {
    for (const h of r.headers || []) {
      if (!same(h[0], "location")) continue;
      try { const abs = new URL(h[1], prev).href; h[1] = swap(abs); prev = h[1]; } catch (e) { /* keep */ }
    }
  }
  return out;
}

// ---------------------------------------------------------------- form <-> scenario

function splitKnown(headers, fields) {
  const values = {};
  const rest = [];
  for (const h of headers || []) {
    const f = fields.find(([id, name]) => same(name, h[0]) && !(id in values));
    if (f && h[1] !== "") values[f[0]] = h[1];
    else rest.push(h);
  }
  return { values, rest };
}

function knownHeaders(fields) {
  const out = [];
  for (const [id, name] of fields) {
    const v = $(id).value.trim();
    if (v !== "") out.push([name, v]);
  }
  return out;
}

function hopElement(hop) {
  const n = $("hops").children.length;
  const uid = `hop${Date.now().toString(36)}${n}`;
  const li = el("li", { class: "hop" });
  const head = el("div", { class: "hop-head" }, el("span", { class: "hop-name", text: `Hop ${n + 1}` }));
  const remove = el("button", { type: "button", class: "hop-remove", text: "Remove" });
  remove.addEventListener("click", () => { li.remove(); renumberHops(); changed(); });
  head.append(remove);
  const grid = el("div", { class: "grid" });
  const field = (key, label, input) => {
    input.id = `${uid}-${key}`;
    input.dataset.key = key;
    grid.append(el("label", { for: input.id, text: label }), input);
  };
  const status = el("input", { type: "number", min: "300", max: "399" });
  status.value = hop.status;
  field("status", "Status", status);
  const to = el("select");
  for (const [v, t] of [["api", "API"], ["alt", "API as 127.0.0.1 (third origin)"], ["page", "this page's origin"], ["raw", "Location as written below"]]) {
    to.append(el("option", { value: v, text: t }));
  }
  to.value = hop.to;
  field("to", "Location origin", to);
  const path = el("input", { type: "text", spellcheck: "false" });
  path.value = hop.path;
  field("path", "Location path (or URL)", path);
  const acao = el("input", { type: "text", spellcheck: "false" });
  acao.value = hop.acao;
  field("acao", "Access-Control-Allow-Origin", acao);
  const more = el("textarea", { rows: "2", spellcheck: "false" });
  more.value = hop.extra;
  field("extra", "Other headers", more);
  li.append(head, grid);
  return li;
}

function renumberHops() {
  [...$("hops").children].forEach((li, i) => { li.querySelector(".hop-name").textContent = `Hop ${i + 1}`; });
}

function hopFromAnswer(a, prevUrl) {
  const hop = { status: a.status, to: "api", path: "/", acao: "", extra: "" };
  const rest = [];
  let next = prevUrl;
  for (const h of a.headers || []) {
    if (same(h[0], "location") && hop.path === "/" && !hop.seen) {
      hop.seen = true;
      let abs = null;
      try { abs = new URL(h[1], prevUrl); } catch (e) { abs = null; }
      const local = abs && [cfg.api_origin, cfg.alt_origin, cfg.page_origin].includes(abs.origin);
      if (local) { hop.to = targetKind(abs.origin); hop.path = abs.pathname + abs.search; next = abs.href; }
      else { hop.to = "raw"; hop.path = h[1]; }
    } else if (same(h[0], "access-control-allow-origin") && hop.acao === "" && h[1] !== "") {
      hop.acao = h[1];
    } else rest.push(h);
  }
  hop.extra = headerLines(rest);
  return { hop, next };
}

function fillForm(s) {
  const req = s.request || {};
  extra = { id: s.id, title: s.title, note: s.note, pna: req.pna };
  $("req-origin").value = req.origin === "null" ? "null" : "page";
  let url = null;
  try { url = new URL(req.url); } catch (e) { url = new URL(cfg.api_origin + "/"); }
  $("req-target").value = targetKind(url.origin);
  $("req-path").value = url.pathname + url.search;
  $("req-method").value = req.method || "GET";
  const body = (s.playground && s.playground.body) || "none";
  $("req-body").value = ["none", "string", "params"].includes(body) ? body : "none";
  $("req-headers").value = headerLines(req.headers || []);
  $("req-credentials").value = req.credentials || "same-origin";
  $("req-mode").value = req.mode === "no-cors" ? "no-cors" : "cors";
  const pf = s.preflight_response;
  $("pf-answer").checked = !!pf;
  $("pf-status").value = pf ? pf.status : 204;
  const p = splitKnown(pf ? pf.headers : [], PF_FIELDS);
  for (const [id] of PF_FIELDS) $(id).value = p.values[id] || "";
  $("pf-extra").value = headerLines(p.rest);
  $("hops").replaceChildren();
  let prev = url.href;
  for (const r of s.redirects || []) {
    const { hop, next } = hopFromAnswer(r, prev);
    prev = next;
    $("hops").append(hopElement(hop));
  }
  renumberHops();
  const res = s.response || { status: 200, headers: [] };
  $("res-status").value = res.status;
  const q = splitKnown(res.headers, RES_FIELDS);
  for (const [id] of RES_FIELDS) $(id).value = q.values[id] || "";
  $("res-extra").value = headerLines(q.rest);
  syncPreflightFields();
}

function num(id, dflt) {
  const n = parseInt($(id).value, 10);
  return Number.isFinite(n) ? n : dflt;
}

// The scenario the form describes (SCENARIO.md format, plus a `playground` object for the
// body kind, which the scenario format does not have).
function buildScenario() {
  const method = $("req-method").value.trim() || "GET";
  const headers = parseHeaderLines($("req-headers").value);
  let body = $("req-body").value;
  if (["GET", "HEAD"].includes(method.toUpperCase())) body = "none";
  if (body !== "none" && !headers.some((h) => same(h[0], "content-type"))) {
    headers.push(["Content-Type", IMPLIED_TYPE[body]]);
  }
  const request = {
    origin: $("req-origin").value === "null" ? "null" : cfg.page_origin,
    url: targetOrigin($("req-target").value) + normPath($("req-path").value),
    method,
    headers,
    credentials: $("req-credentials").value,
    mode: $("req-mode").value,
  };
  if (extra.pna) request.pna = extra.pna;
  const s = { id: extra.id || "playground", request };
  if (extra.title) s.title = extra.title;
  s.preflight_response = $("pf-answer").checked
    ? { status: num("pf-status", 204), headers: [...knownHeaders(PF_FIELDS), ...parseHeaderLines($("pf-extra").value)] }
    : null;
  const hops = [...$("hops").children];
  if (hops.length) {
    s.redirects = hops.map((li) => {
      const v = (k) => li.querySelector(`[data-key=${k}]`).value;
      const to = v("to");
      const loc = to === "raw" ? v("path").trim() : targetOrigin(to) + normPath(v("path"));
      const hs = [["Location", loc]];
      if (v("acao").trim() !== "") hs.push(["Access-Control-Allow-Origin", v("acao").trim()]);
      const n = parseInt(v("status"), 10);
      return { status: Number.isFinite(n) ? n : 302, headers: [...hs, ...parseHeaderLines(v("extra"))] };
    });
  }
  s.response = { status: num("res-status", 200), headers: [...knownHeaders(RES_FIELDS), ...parseHeaderLines($("res-extra").value)] };
  if (body !== "none") s.playground = { body };
  return s;
}

function normPath(p) {
  p = String(p || "").trim();
  return p.startsWith("/") ? p : "/" + p;
}

function syncPreflightFields() {
  const on = $("pf-answer").checked;
  for (const id of ["pf-status", "pf-extra", ...PF_FIELDS.map((f) => f[0])]) $(id).disabled = !on;
}

// ---------------------------------------------------------------- state, link, import/export

// Pretty JSON with each header pair on one line.
function scenarioText(s) {
  const str = '"(?:[^"\\\\]|\\\\.)*"';
  const pair = new RegExp(`\\[\\s+(${str}),\\s+(${str})\\s+\\]`, "g");
  return JSON.stringify(s, null, 2).replace(pair, "[$1, $2]");
}

function changed() {
  const s = buildScenario();
  $("scenario-json").value = scenarioText(s);
  history.replaceState(null, "", "#s=" + b64urlEncode(JSON.stringify(s)));
  if ($("verdict").dataset.state !== "idle") {
    setVerdict("idle", "Edited since the last run: press Run to try it. The prediction below is for the form as it is now.");
    $("mismatch-actions").hidden = true;
  }
  clearTimeout(predictTimer);
  predictTimer = setTimeout(() => predictOnly(s), 250);
}

function loadScenario(s, note) {
  fillForm(localize(s));
  $("preset-note").textContent = note || "";
  changed();
}

function importText(text) {
  const t = String(text).trim();
  let s;
  try { s = JSON.parse(t); } catch (e) {
    // A .jsonl file: take its first line.
    s = JSON.parse(t.split("\n")[0]);
  }
  if (!s || typeof s !== "object" || !s.request || !s.response) throw new Error("not a scenario: it needs request and response");
  loadScenario(s, s.note || "");
  $("preset").value = "";
}

function download(name, text) {
  const a = el("a", { href: URL.createObjectURL(new Blob([text], { type: "application/json" })), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// ---------------------------------------------------------------- prediction and results

async function predictOnly(s) {
  const seq = ++predictSeq;
  try {
    const p = await postJson("/api/predict", s);
    if (seq === predictSeq) { renderModel(p); renderCompare(p, null); }
  } catch (e) {
    if (seq === predictSeq) renderModelError(e.message);
  }
}

function renderModelError(msg) {
  $("m-reason").textContent = "The model could not read this scenario: " + msg;
  $("m-message").textContent = "—";
  $("m-fix").textContent = "—";
  $("m-steps").replaceChildren();
}

function renderModel(p) {
  $("m-reason").replaceChildren(p.outcome === "ok" ? "none: the response reaches script" : el("code", { text: p.reason_code || p.reason || "—" }));
  $("m-message").textContent = p.message || "—";
  $("m-fix").textContent = p.fix || "—";
  $("m-steps").replaceChildren(...(p.steps || []).map((st) => el("li", { class: st.passed ? "pass" : "fail" },
    el("span", { class: "mark", text: st.passed ? "✓" : "✗" }),
    st.check + " ",
    el("span", { class: "rule", text: `(${st.rule})` }))));
}

const fmtList = (l) => (l && l.length ? l.join(", ") : "(none)");
const fmtAcr = (m) => {
  if (!m) return "—";
  const parts = Object.entries(m).filter(([, v]) => v !== null).sort((a, b) => (a[0] < b[0] ? 1 : -1)).map(([k, v]) => `${k.replace("access-control-request-", "ACR-")}: ${v}`);
  return parts.length ? parts.join("; ") : "(none)";
};
const acrNorm = (m) => JSON.stringify(Object.entries(m || {}).filter(([, v]) => v !== null).sort());

// Observed behaviour from the fetch() result and the server's log.
function observe(result, log) {
  const reqs = log.requests || [];
  const pf = reqs.find((r) => r.preflight);
  const actual = reqs.filter((r) => !r.preflight);
  const hdr = (r, n) => { const h = r.headers.find((x) => x[0] === n); return h ? h[1] : null; };
  const o = {
    preflight: !!pf,
    preflight_request_headers: pf ? {
      "access-control-request-method": hdr(pf, "access-control-request-method"),
      "access-control-request-headers": hdr(pf, "access-control-request-headers"),
    } : null,
    outcome: result.ok ? "ok" : "network-error",
    failure_stage: null,
    exposed_headers: result.ok ? [...new Set(result.headers.map((h) => h[0].toLowerCase()))].sort() : [],
    origin_header: actual.length ? hdr(actual[actual.length - 1], "origin") : null,
  };
  if (pf) {
    for (const [k, v] of pf.headers) if (k.startsWith("access-control-request-") && !(k in o.preflight_request_headers)) o.preflight_request_headers[k] = v;
  }
  if (!result.ok) o.failure_stage = actual.length ? "actual" : pf ? "preflight" : "request";
  return o;
}

function differences(m, o) {
  const d = [];
  if (m.preflight !== o.preflight) d.push("preflight");
  else if (m.preflight && acrNorm(m.preflight_request_headers) !== acrNorm(o.preflight_request_headers)) d.push("preflight_request_headers");
  if (m.outcome !== o.outcome) d.push("outcome");
  if ((m.failure_stage || null) !== (o.failure_stage || null)) d.push("failure_stage");
  if (m.outcome === "ok" && o.outcome === "ok" && JSON.stringify(m.exposed_headers) !== JSON.stringify(o.exposed_headers)) d.push("exposed_headers");
  if ((m.origin_header || null) !== (o.origin_header || null)) d.push("origin_header");
  return d;
}

const ROWS = [
  ["preflight", "Preflight sent", (x) => (x.preflight ? "yes" : "no")],
  ["preflight_request_headers", "Access-Control-Request-*", (x) => fmtAcr(x.preflight_request_headers)],
  ["outcome", "Outcome", (x) => (x.outcome === "ok" ? "ok: script gets the response" : "network error: fetch() rejects (TypeError)")],
  ["failure_stage", "Failed at", (x) => x.failure_stage || "—"],
  ["exposed_headers", "Headers script can read", (x) => (x.outcome === "ok" ? fmtList(x.exposed_headers) : "—")],
  ["origin_header", "Origin on the actual request", (x) => x.origin_header || "(none)"],
];

function renderCompare(m, o, diffs) {
  $("compare-body").replaceChildren(...ROWS.map(([key, label, f]) => {
    const tr = el("tr", {}, el("th", { scope: "row", text: label }), el("td", { text: f(m) }), el("td", { text: o ? f(o) : "not run yet" }));
    if (diffs && diffs.includes(key)) tr.className = "diff";
    return tr;
  }));
}

function setVerdict(state, text, list) {
  const v = $("verdict");
  v.dataset.state = state;
  v.replaceChildren(text);
  if (list && list.length) v.append(el("ul", {}, ...list.map((t) => el("li", { text: t }))));
}

function renderBrowser(result) {
  const box = $("b-result");
  if (!result.ok) {
    box.replaceChildren(el("p", { text: `fetch() rejected: ${result.error}` }),
      el("p", { class: "hint", text: result.aborted ? "Gave up after 20 s." : "Script never learns why; the browser console (and the model, left) does." }));
    return;
  }
  const hs = result.headers.map(([k, v]) => el("li", { text: `${k}: ${v}` }));
  box.replaceChildren(
    el("p", { text: `Response type "${result.type}", status ${result.status}.` }),
    el("p", { text: hs.length ? "Readable headers:" : "No readable headers." }),
    el("ul", { class: "kv" }, ...hs),
  );
}

function renderLog(log, pageOrigin) {
  const reqs = log.requests || [];
  if (!reqs.length) {
    $("log").replaceChildren(el("p", { text: "Nothing reached the server (fetch() threw before sending, or the browser refused to send)." }));
    return;
  }
  const where = { api: cfg.api_origin, alt: cfg.alt_origin, page: pageOrigin };
  $("log").replaceChildren(...reqs.map((r, i) => {
    const kind = r.preflight ? "preflight" : r.hop > 0 ? `after redirect ${r.hop}` : "actual request";
    const cookie = r.headers.find((h) => h[0] === "cookie");
    const title = el("div", { class: "req-title" }, `${i + 1}. ${r.method} ${where[r.to] || ""}${r.target}`,
      el("span", { class: "tag", text: kind }),
      el("span", { class: "tag", text: cookie ? "carried a Cookie" : "no Cookie" }));
    const items = r.headers.map(([k, v]) => el("li", { class: k === "origin" || k.startsWith("access-control-") || k === "cookie" ? "hl" : "", text: `${k}: ${v}` }));
    return el("div", { class: "req" }, title, el("ul", { class: "kv" }, ...items));
  }));
}

// ---------------------------------------------------------------- running

const frameReady = {};
frameReady.promise = new Promise((r) => { frameReady.resolve = r; });
const pending = new Map();
let nextId = 1;

addEventListener("message", (e) => {
  if (e.source !== $("sandbox").contentWindow || !e.data) return;
  if (e.data.kind === "preflight-frame-ready") frameReady.resolve();
  if (e.data.kind === "preflight-result" && pending.has(e.data.id)) {
    pending.get(e.data.id)(e.data.result);
    pending.delete(e.data.id);
  }
});

async function fetchInFrame(url, init, body) {
  await Promise.race([frameReady.promise, new Promise((r) => setTimeout(r, 3000))]);
  return new Promise((resolve) => {
    const id = nextId++;
    pending.set(id, resolve);
    $("sandbox").contentWindow.postMessage({ kind: "preflight-fetch", id, url, init, body }, "*");
    setTimeout(() => { if (pending.delete(id)) resolve({ ok: false, error: "the sandboxed frame did not answer" }); }, 25000);
  });
}

async function fetchHere(url, init, body) {
  const opts = Object.assign({}, init);
  if (body && body.kind === "params") opts.body = new URLSearchParams(body.text);
  else if (body && body.kind === "string") opts.body = body.text;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 20000);
  opts.signal = ctl.signal;
  try {
    const r = await fetch(url, opts);
    try { await r.arrayBuffer(); } catch (e) { /* body errors do not change the outcome */ }
    return { ok: true, status: r.status, type: r.type, headers: [...r.headers] };
  } catch (e) {
    return { ok: false, error: String(e), aborted: ctl.signal.aborted };
  } finally {
    clearTimeout(timer);
  }
}

async function runScenario() {
  // A pending or in-flight live prediction must not overwrite this run's results.
  clearTimeout(predictTimer);
  predictSeq++;
  const s = buildScenario();
  $("run").disabled = true;
  $("mismatch-actions").hidden = true;
  setVerdict("running", "Running…");
  $("run-status").textContent = "Running…";
  try {
    const reg = await postJson("/api/run", s);
    const sent = reg.scenario;
    const init = {
      method: sent.request.method,
      headers: sent.request.headers,
      credentials: sent.request.credentials,
      mode: sent.request.mode,
      redirect: "follow",
    };
    const kind = s.playground && s.playground.body;
    const body = kind ? { kind, text: BODY_TEXT[kind] } : null;
    const result = sent.request.origin === "null"
      ? await fetchInFrame(sent.request.url, init, body)
      : await fetchHere(sent.request.url, init, body);
    const lr = await fetch(`/api/log/${encodeURIComponent(reg.run)}`);
    const log = await lr.json();
    const m = reg.prediction;
    const o = observe(result, log);
    const diffs = differences(m, o);
    renderModel(m);
    renderCompare(m, o, diffs);
    renderBrowser(result);
    renderLog(log, cfg.page_origin);
    if (diffs.length) {
      lastReport = Object.assign({}, s, { model: m, observed: o, fetch_result: result, server_log: log.requests, mismatch: diffs, user_agent: navigator.userAgent });
      setVerdict("mismatch", "MISMATCH: this browser did not do what the model predicts.",
        diffs.map((d) => { const row = ROWS.find((r) => r[0] === d); return `${row ? row[1] : d}: model says "${row ? row[2](m) : ""}", browser did "${row ? row[2](o) : ""}"`; }));
      $("mismatch-actions").hidden = false;
    } else {
      const what = o.outcome === "ok" ? "the response reached script" : "the request failed";
      setVerdict("match", `Prediction matches this browser: ${what}${o.preflight ? ", after a preflight" : ", without a preflight"}.`);
    }
    $("run-status").textContent = `Run ${reg.run} done.`;
  } catch (e) {
    setVerdict("error", "Could not run: " + e.message);
    $("run-status").textContent = "";
  } finally {
    $("run").disabled = false;
  }
}

// ---------------------------------------------------------------- start

async function start() {
  cfg = await (await fetch("/api/config")).json();
  $("page-origin").textContent = cfg.page_origin;
  $("api-origin").textContent = cfg.api_origin;
  presets = await (await fetch("/api/presets")).json();
  for (const [i, p] of presets.entries()) $("preset").append(el("option", { value: String(i), text: p.title || p.id }));

  $("preset").addEventListener("change", () => {
    const p = presets[Number($("preset").value)];
    $("json-status").textContent = "";
    if ($("preset").value !== "" && p) loadScenario(p, p.note);
  });
  $("form").addEventListener("input", () => { $("preset").value = ""; changed(); });
  $("form").addEventListener("change", (e) => { if (e.target.id === "pf-answer") syncPreflightFields(); });
  $("form").addEventListener("submit", (e) => { e.preventDefault(); runScenario(); });
  $("add-hop").addEventListener("click", () => {
    $("hops").append(hopElement({ status: 302, to: "alt", path: "/moved", acao: "", extra: "" }));
    renumberHops();
    changed();
    $("hops").lastElementChild.querySelector("input").focus();
  });
  $("copy-link").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); $("json-status").textContent = "Link copied."; }
    catch (e) { $("json-status").textContent = "Copy the address bar: it holds the whole scenario."; }
  });
  $("download").addEventListener("click", () => download(`${buildScenario().id || "scenario"}.json`, scenarioText(buildScenario()) + "\n"));
  $("save-report").addEventListener("click", () => { if (lastReport) download("preflight-mismatch.json", JSON.stringify(lastReport, null, 2) + "\n"); });
  $("apply-json").addEventListener("click", () => {
    try { importText($("scenario-json").value); $("json-status").textContent = "Loaded."; }
    catch (e) { $("json-status").textContent = "Not loaded: " + e.message; }
  });
  $("import-file").addEventListener("change", async () => {
    const f = $("import-file").files[0];
    if (!f) return;
    try { importText(await f.text()); $("json-status").textContent = `Loaded ${f.name}.`; }
    catch (e) { $("json-status").textContent = "Not loaded: " + e.message; }
  });

  const m = /^#s=([A-Za-z0-9_-]+)$/.exec(location.hash);
  let loaded = false;
  if (m) {
    try { const s = JSON.parse(b64urlDecode(m[1])); loadScenario(s, "Loaded from the link."); loaded = true; }
    catch (e) { $("preset-note").textContent = "The link's scenario could not be read; showing the first preset."; }
  }
  if (!loaded && presets.length) { $("preset").value = "0"; loadScenario(presets[0], presets[0].note); }
  document.body.dataset.ready = "1";
}

start().catch((e) => setVerdict("error", "The playground did not start: " + e.message));
