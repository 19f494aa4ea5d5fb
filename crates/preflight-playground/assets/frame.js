// Runs fetch() from a sandboxed document (an opaque origin: requests carry Origin: null) on
// behalf of the playground page, and posts the result back.
"use strict";
addEventListener("message", async (e) => {
  if (e.source !== parent || !e.data || e.data.kind !== "preflight-fetch") return;
  const { id, url, init, body } = e.data;
  const result = await playgroundFetch(url, init, body);
  parent.postMessage({ kind: "preflight-result", id, result }, "*");
});

async function playgroundFetch(url, init, body) {
  const opts = Object.assign({}, init);
  if (body && body.kind === "params") opts.body = new URLSearchParams(body.text);
  else if (body && body.kind === "string") opts.body = body.text;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 20000);
  opts.signal = ctl.signal;
  try {
    const r = await fetch(url, opts);
    let text = "";
    try { text = (await r.text()).slice(0, 500); } catch (err) { text = ""; }
    return { ok: true, status: r.status, type: r.type, headers: [...r.headers], body: text };
  } catch (err) {
    return { ok: false, error: String(err), aborted: ctl.signal.aborted };
  } finally {
    clearTimeout(timer);
  }
}
parent.postMessage({ kind: "preflight-frame-ready" }, "*");
