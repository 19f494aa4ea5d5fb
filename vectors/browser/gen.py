#!/usr/bin/env python3
"""Writes the browser conformance vectors (vectors/browser/*.jsonl).

Every `expect` below is written by hand from the rule it cites (research notes R1-R60,
C1-C20, WPT facts); tables only repeat one hand-derived expectation over the inputs the rule
treats alike. Nothing here runs the model. Run: python3 vectors/browser/gen.py
"""
import json, os

O = "https://app.example.test"
API = "https://api.example.test"
API2 = "https://api2.example.test"
U = API + "/r"
FILES = {}

def H(*pairs):
    return [list(p) for p in pairs]

STAR = H(("Access-Control-Allow-Origin", "*"))
ECHO = H(("Access-Control-Allow-Origin", O))
ECHO_C = H(("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Credentials", "true"))

def resp(status=200, headers=None):
    return {"status": status, "headers": headers if headers is not None else STAR}

def pre_allow(methods=None, headers=None, cred=False, status=204, extra=()):
    h = list(ECHO_C) if cred else list(STAR)
    if methods is not None:
        h.append(["Access-Control-Allow-Methods", methods])
    if headers is not None:
        h.append(["Access-Control-Allow-Headers", headers])
    h += [list(e) for e in extra]
    return {"status": status, "headers": h}

def ok(preflight=False, acrm=None, acrh=None, exposed=None, origin_header=None, pna=None):
    e = {"preflight": preflight}
    if preflight:
        e["preflight_request_headers"] = {"access-control-request-method": acrm,
                                          "access-control-request-headers": acrh}
        if pna:
            e["preflight_request_headers"]["access-control-request-private-network"] = "true"
    e["outcome"] = "ok"
    e["failure_stage"] = None
    if exposed is not None:
        e["exposed_headers"] = exposed
    if origin_header is not None:
        e["origin_header"] = origin_header
    return e

def err(stage, preflight=False, acrm=None, acrh=None, origin_header=None):
    e = ok(preflight, acrm, acrh)
    e["outcome"] = "network-error"
    e["failure_stage"] = stage
    if origin_header is not None:
        e["origin_header"] = origin_header
    return e

def request(method="GET", headers=(), cred="same-origin", mode="cors", url=U, origin=O, pna=None,
            body=None, cache=None):
    req = {"origin": origin, "url": url, "method": method, "headers": [list(h) for h in headers],
           "credentials": cred, "mode": mode}
    if pna:
        req["pna"] = pna
    if body is not None:
        req["body"] = body
    if cache is not None:
        req["cache"] = cache
    return req

def add(file, id, expect, method="GET", headers=(), cred="same-origin", mode="cors", url=U,
        origin=O, pre=None, redirects=None, response=None, chromium=None, pna=None,
        body=None, cache=None, before=None, at=None, protocol=None):
    req = request(method, headers, cred, mode, url, origin, pna, body, cache)
    s = {"id": id, "request": req, "preflight_response": pre}
    if redirects is not None:
        s["redirects"] = redirects
    s["response"] = response if response is not None else resp()
    s["expect"] = expect
    if chromium is not None:
        s["expect_chromium"] = chromium
    if before is not None:
        s["before"] = before
    if at is not None:
        s["at"] = at
    if protocol is not None:
        s["protocol"] = protocol
    FILES.setdefault(file, []).append(s)

def earlier(expect=None, method="GET", headers=(), cred="same-origin", mode="cors", url=U, origin=O,
            pre=None, redirects=None, response=None, at=None, chromium=None, body=None, cache=None):
    """An earlier fetch of a scenario (`before`), the same page first."""
    e = {"request": request(method, headers, cred, mode, url, origin, None, body, cache),
         "preflight_response": pre}
    if redirects is not None:
        e["redirects"] = redirects
    e["response"] = response if response is not None else resp()
    if at is not None:
        e["at"] = at
    if expect is not None:
        e["expect"] = expect
    if chromium is not None:
        e["expect_chromium"] = chromium
    return e

# ---------------------------------------------------------------- safelist.jsonl (R1-R5, R9-R12)
F = "safelist.jsonl"
# R1/R2: safelisted methods, normalized case.
for m in ["GET", "HEAD", "POST", "get", "Get", "head", "post", "pOsT"]:
    add(F, f"method-simple-{m}", ok(exposed=[], origin_header=O), method=m)
# R2: normalized (uppercased) methods that are not safelisted -> preflight with upper ACRM.
for m, sent in [("put", "PUT"), ("Put", "PUT"), ("PUT", "PUT"), ("delete", "DELETE"), ("DELETE", "DELETE"),
                ("options", "OPTIONS"), ("Options", "OPTIONS")]:
    add(F, f"method-normalized-{m}", ok(True, sent, None, exposed=[]), method=m, pre=pre_allow(sent))
# R2: other methods keep their case.
for m in ["patch", "PATCH", "patcH", "NEW", "chicken", "PROPFIND", "Purge"]:
    add(F, f"method-kept-case-{m}", ok(True, m, None, exposed=[]), method=m, pre=pre_allow(m))
# R3: forbidden methods throw before anything is sent.
for m in ["CONNECT", "TRACE", "TRACK", "trace", "connect", "Track"]:
    add(F, f"method-forbidden-{m}", err("request"), method=m)
# R3: not a token.
for m in ["GE T", "GET\u00e9", "(PUT)", ""]:
    add(F, f"method-not-token-{len(m)}-{m.encode().hex()}", err("request"), method=m)
# R4: forbidden request-headers are dropped silently -> no preflight.
for n, v in [("Cookie", "a=b"), ("Cookie2", "x"), ("Host", "evil.test"), ("Origin", "https://evil.test"),
             ("Referer", "https://x.test/"), ("Content-Length", "5"), ("Connection", "close"),
             ("Date", "Tue, 1 Jan 2030 00:00:00 GMT"), ("DNT", "1"), ("Expect", "100-continue"),
             ("Keep-Alive", "timeout=5"), ("TE", "trailers"), ("Trailer", "X"),
             ("Transfer-Encoding", "chunked"), ("Upgrade", "websocket"), ("Via", "1.1 p"),
             ("Accept-Charset", "utf-8"), ("Accept-Encoding", "br"),
             ("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Headers", "x-a"),
             ("Set-Cookie", "a=b"), ("Sec-Fetch-Mode", "navigate"), ("sec-custom", "1"),
             ("Proxy-Authorization", "Basic x"), ("proxy-foo", "1"), ("COOKIE", "a=b"),
             ("X-HTTP-Method-Override", "TRACE"), ("X-HTTP-Method", "connect"),
             ("X-Method-Override", "GET, TRACK"), ("x-http-method-override", "PUT,trace")]:
    add(F, f"forbidden-header-dropped-{n}-{len(v)}", ok(exposed=[]), headers=[(n, v)])
# R4: method-override headers with only allowed methods are ordinary unsafe headers.
for n, v in [("X-HTTP-Method-Override", "PATCH"), ("X-Method-Override", "DELETE"), ("X-HTTP-Method", "GET, PUT")]:
    add(F, f"override-not-forbidden-{n.lower()}", ok(True, "GET", n.lower(), exposed=[]),
        headers=[(n, v)], pre=pre_allow(None, n))
# R5: invalid header name / value throws.
for n, v in [("X Bad", "1"), ("X-Bad:", "1"), ("", "1"), ("X-A", "a\nb"), ("X-A", "a\rb"), ("X-A", "a\u0000b")]:
    add(F, f"header-invalid-{n.encode().hex()}-{v.encode().hex()}", err("request"), headers=[(n, v)])
# R5: values are normalized (leading/trailing HTTP whitespace removed) before safelisting.
add(F, "value-normalized-content-language", ok(exposed=[]), headers=[("Content-Language", "  fr \t")])
add(F, "value-normalized-range", ok(exposed=[]), headers=[("Range", " bytes=0-1 ")])
# R9 accept / R10 unsafe bytes.
for i, (v, safe) in enumerate([("*/*", True), ("application/json", True), ("text/html, */*;q=0.8", True),
                               ("a\tb", True), ('"', False), ("(", False), (")", False), (":", False),
                               ("<", False), (">", False), ("?", False), ("@", False), ("[", False),
                               ("\\", False), ("]", False), ("{", False), ("}", False), ("\u007f", False),
                               ("\u0001", False), ("a" * 128, True), ("a" * 129, False)]):
    if safe:
        add(F, f"accept-{i}", ok(exposed=[]), headers=[("Accept", v)])
    else:
        add(F, f"accept-{i}", ok(True, "GET", "accept", exposed=[]), headers=[("Accept", v)],
            pre=pre_allow(None, "accept"))
# R9 accept-language / content-language byte set.
for name in ["Accept-Language", "Content-Language"]:
    for i, (v, safe) in enumerate([("fr", True), ("en-US,en;q=0.9", True), ("de-CH, *", True), ("a=b.c", True),
                                   ("fr_FR", False), ("@", False), ("fr/ch", False), ("\u0001", False),
                                   ("a\tb", False), ("x" * 128, True), ("x" * 129, False)]):
        if safe:
            add(F, f"{name.lower()}-{i}", ok(exposed=[]), headers=[(name, v)])
        else:
            add(F, f"{name.lower()}-{i}", ok(True, "GET", name.lower(), exposed=[]), headers=[(name, v)],
                pre=pre_allow(None, name.lower()))
# R9 content-type: parse a MIME type, essence, unsafe bytes, 128 bytes.
ct = [("text/plain", True), ("application/x-www-form-urlencoded", True), ("multipart/form-data; boundary=x", True),
      ("Text/Plain;charset=utf-8", True), ("TEXT/PLAIN", True), ("text/plain;charset=utf-8;x=y", True),
      (" text/plain ", True), ("text/plain;", True), ("text/plain ;charset=utf-8", True),
      ("application/json", False), ("text/html", False), ('text/plain;charset="utf-8"', False),
      ("text/plain, application/json", False), ("text/plain; a=(b)", False), ("text", False),
      ("text/", False), ("/plain", False), ("text/plain/x", False), ("application/csp-report", False),
      ("text/plain;" + "a" * 117, True), ("text/plain;" + "a" * 118, False), ("multipart/related", False),
      ("text/plain\u0001", False)]
for i, (v, safe) in enumerate(ct):
    if safe:
        add(F, f"content-type-{i}", ok(exposed=[]), method="POST", headers=[("Content-Type", v)])
    else:
        add(F, f"content-type-{i}", ok(True, "POST", "content-type", exposed=[]), method="POST",
            headers=[("Content-Type", v)], pre=pre_allow(None, "content-type"))
# R9 range.
for i, (v, safe) in enumerate([("bytes=0-499", True), ("bytes=500-", True), ("bytes=0-0", True),
                               ("bytes=-500", False), ("bytes=0-1,5-6", False), ("bytes = 0-10", False),
                               ("bytes 0-", False), ("Bytes=0-1", False), ("bytes=10-5", False),
                               ("bytes=", False), ("items=0-1", False), ("bytes=0-1 ", True),
                               ("bytes=0x-1", False), ("bytes=99999999999999999999-", True)]):
    if safe:
        c = None
        if v == "bytes=99999999999999999999-":
            c = {"preflight": True, "preflight_request_headers": {
                "access-control-request-method": "GET", "access-control-request-headers": "range"},
                "outcome": "network-error", "failure_stage": "preflight",
                "note": "Chromium parses range positions as int64: an overflowing start is not safelisted, "
                        "so a preflight is sent (observed with Chromium 156 by scripts/browser-conformance; "
                        "the scenario gives no preflight answer: net::ERR_EMPTY_RESPONSE)"}
        add(F, f"range-{i}", ok(exposed=[]), headers=[("Range", v)], chromium=c)
    else:
        add(F, f"range-{i}", ok(True, "GET", "range", exposed=[]), headers=[("Range", v)],
            pre=pre_allow(None, "range"))
# Not safelisted names (WPT not-cors-safelisted).
for n, v in [("Authorization", "basics"), ("Last-Event-ID", "1"), ("X-Requested-With", "XMLHttpRequest"),
             ("test", "hi"), ("Cache-Control", "no-cache"), ("If-None-Match", "\"x\""), ("Pragma", "no-cache")]:
    add(F, f"unsafe-name-{n.lower()}", ok(True, "GET", n.lower(), exposed=[]), headers=[(n, v)],
        pre=pre_allow(None, n.lower()))
# R11: lowercased, de-duplicated, sorted, joined with "," (no space); safelisted omitted.
add(F, "acrh-sorted-dedup", ok(True, "GET", "x-a,x-b,x-c", exposed=[]),
    headers=[("X-C", "1"), ("x-a", "2"), ("X-B", "3"), ("X-A", "4"), ("Accept-Language", "fr"),
             ("Content-Language", "de")], pre=pre_allow(None, "x-a, x-b, x-c"))
add(F, "acrh-with-content-type", ok(True, "PUT", "content-type,x-request-id", exposed=[]), method="PUT",
    headers=[("X-Request-Id", "7"), ("Content-Type", "application/json")],
    pre=pre_allow("PUT", "Content-Type,X-Request-Id"))
add(F, "acrh-absent-when-only-safelisted", ok(True, "PUT", None, exposed=[]), method="PUT",
    headers=[("Accept", "*/*"), ("Accept-Language", "fr"), ("Content-Type", "text/plain")], pre=pre_allow("PUT"))
# R11: the 1024-byte total (the script sets Accept-Language so the UA adds none; Accept */* = 3 bytes).
A128 = "a" * 128
add(F, "total-1024-eight-accept-language", ok(True, "GET", "accept,accept-language", exposed=[]),
    headers=[("Accept-Language", A128)] * 8, pre=pre_allow(None, "accept, accept-language"),
    chromium={"preflight_request_headers": {"access-control-request-method": "GET",
                                            "access-control-request-headers": "accept-language"},
              "note": "C11: Chromium combines the 8 values into one 1038-byte value (unsafe by length); accept alone stays safe"})
for n_al, total, over in [("enus", 1023, False), ("en-us", 1024, False), ("en-usa", 1025, True)]:
    hs = [("Content-Language", "c" * 127)] * 8 + [("Accept-Language", n_al)]
    if over:
        e = ok(True, "GET", "accept,accept-language,content-language", exposed=[])
    else:
        e = ok(exposed=[])
    add(F, f"total-{total}-content-language", e, headers=hs,
        pre=pre_allow(None, "accept, accept-language, content-language"),
        chromium={"preflight": True, "preflight_request_headers": {
            "access-control-request-method": "GET", "access-control-request-headers": "content-language"},
            "note": "C11: duplicates are combined first, so content-language is one 1030-byte value"})
add(F, "three-100-byte-content-language", ok(exposed=[]),
    headers=[("Content-Language", "b" * 100)] * 3 + [("Accept-Language", "en")],
    pre=pre_allow(None, "content-language"),
    chromium={"preflight": True, "preflight_request_headers": {
        "access-control-request-method": "GET", "access-control-request-headers": "content-language"},
        "note": "C11 (observed): 3x100-byte content-language is preflighted by Chromium"})
add(F, "two-content-types", ok(exposed=[]), method="POST",
    headers=[("Content-Type", "text/plain"), ("Content-Type", "text/plain")], pre=pre_allow(None, "content-type"),
    chromium={"preflight": True, "preflight_request_headers": {
        "access-control-request-method": "POST", "access-control-request-headers": "content-type"},
        "note": "C11: combined 'text/plain, text/plain' is not a MIME type"})
add(F, "two-ranges", ok(exposed=[]), headers=[("Range", "bytes=0-1"), ("Range", "bytes=0-1")],
    pre=pre_allow(None, "range"),
    chromium={"preflight": True, "preflight_request_headers": {
        "access-control-request-method": "GET", "access-control-request-headers": "range"},
        "note": "C11: the combined Range value is not a single range"})
add(F, "two-short-content-languages", ok(exposed=[]), headers=[("Content-Language", "fr"), ("Content-Language", "de")])
# C10: Chromium's client hints.
for n, v, chrome_safe in [("Width", "100", True), ("Viewport-Width", "1280", True), ("DPR", "2.5", True),
                          ("Device-Memory", "8", True), ("Save-Data", "on", True), ("Width", "1.5", False),
                          ("DPR", "2.", False), ("Save-Data", "off", False)]:
    e = ok(True, "GET", n.lower(), exposed=[])
    c = None
    if chrome_safe:
        c = {"preflight": False, "note": "C10: Chromium safelists this client hint"}
    add(F, f"client-hint-{n.lower()}-{v}", e, headers=[(n, v)], pre=pre_allow(None, n.lower()), chromium=c)

# ---------------------------------------------------------------- preflight.jsonl (R17-R29)
F = "preflight.jsonl"
for st in [200, 201, 202, 203, 204, 205, 206, 299]:
    add(F, f"preflight-status-{st}", ok(True, "PUT", None, exposed=[]), method="PUT", pre=pre_allow("PUT", status=st))
for st in [300, 304, 305, 400, 401, 403, 404, 405, 500, 501, 502, 503, 504, 505, 199, 100]:
    add(F, f"preflight-status-{st}", err("preflight", True, "PUT", None), method="PUT", pre=pre_allow("PUT", status=st))
for st in [301, 302, 303, 307, 308]:
    add(F, f"preflight-redirect-{st}", err("preflight", True, "PUT", None), method="PUT",
        pre=pre_allow("PUT", status=st, extra=[("Location", API + "/other")]))
add(F, "preflight-404-without-acao", err("preflight", True, "DELETE", None), method="DELETE",
    pre={"status": 404, "headers": []})
add(F, "preflight-no-answer", err("preflight", True, "PUT", None), method="PUT", pre=None)
# R27 method matching, no credentials.
for m, acam, good in [("PUT", "PUT", True), ("put", "PUT", True), ("PUT", "put", False), ("DELETE", "GET, POST, DELETE", True),
                      ("patch", "PATCH", False), ("PATCH", "patch", False), ("patch", "patch", True),
                      ("PATCH", "PATCH", True), ("patcH", "patcH", True), ("NEW", "NEW", True),
                      ("chicken", "chicken", True), ("PUT", "*", True), ("SUPER", "*", True), ("OK", "*", True),
                      ("PUT", "", False), ("PUT", " PUT ", True), ("PUT", "POST,  ,PUT", True), ("DELETE", "DELETES", False),
                      ("PUT", "GET, HEAD", False)]:
    norm = m.upper() if m.upper() in ("PUT", "DELETE") else m
    e = ok(True, norm, None, exposed=[]) if good else err("preflight", True, norm, None)
    add(F, f"acam-{m}-vs-{acam.replace(' ', '_') or 'empty'}", e, method=m, pre=pre_allow(acam))
add(F, "acam-missing-for-put", err("preflight", True, "PUT", None), method="PUT", pre=pre_allow(None))
add(F, "acam-two-lines", ok(True, "DELETE", None, exposed=[]), method="DELETE",
    pre={"status": 204, "headers": STAR + H(("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Methods", "DELETE"))})
# R27: safelisted methods are never checked against ACAM.
for m in ["GET", "POST", "HEAD"]:
    add(F, f"safelisted-method-not-checked-{m}", ok(True, m, "x-a", exposed=[]), method=m, headers=[("X-A", "1")],
        pre=pre_allow("PUT", "x-a"))
add(F, "acam-lowercase-get-with-get", ok(True, "GET", "x-a", exposed=[]), headers=[("X-A", "1")], pre=pre_allow("get", "x-a"))
# R25: ACAM/ACAH parse failures fail even when unused.
for i, v in enumerate(["Bad value", "PUT, Bad value", "PUT;", "\"PUT\"", "PU T", "PUT/"]):
    add(F, f"acam-unparsable-{i}", err("preflight", True, "GET", "x-force-preflight"), headers=[("X-Force-Preflight", "1")],
        pre=pre_allow(v, "x-force-preflight"))
for i, v in enumerate(["x-force-preflight,Bad value", "x-a b", "x-force-preflight, (x)", "x:y"]):
    add(F, f"acah-unparsable-{i}", err("preflight", True, "GET", "x-force-preflight"), headers=[("X-Force-Preflight", "1")],
        pre=pre_allow(None, v))
add(F, "acam-unparsable-for-put-with-valid-acah", err("preflight", True, "PUT", None), method="PUT",
    pre=pre_allow("PUT, Bad value", "x-a"))
# R29 header matching.
for names, acah, good in [("x-a", "X-A", True), ("x-a", "x-a", True), ("x-a", "x-b", False), ("x-a", "", False),
                          ("x-a", None, False), ("x-a", "*", True), ("x-a", "x-b, *", True), ("x-a", "x-a,,x-b", True),
                          ("x-a", " x-b , x-a ", True), ("x-a,x-b", "x-a", False), ("x-a,x-b", "x-b,x-a", True)]:
    hs = [(n.upper(), "1") for n in names.split(",")]
    e = ok(True, "GET", names, exposed=[]) if good else err("preflight", True, "GET", names)
    add(F, f"acah-{names}-vs-{('none' if acah is None else acah or 'empty').replace(' ', '_').replace('*', 'star')}", e, headers=hs, pre=pre_allow(None, acah))
add(F, "acah-two-lines", ok(True, "GET", "x-a,x-b", exposed=[]), headers=[("X-A", "1"), ("X-B", "1")],
    pre={"status": 204, "headers": STAR + H(("Access-Control-Allow-Headers", "x-a"), ("Access-Control-Allow-Headers", "x-b"))})
# R28/C7 Authorization and `*`.
add(F, "authorization-star", err("preflight", True, "GET", "authorization"), headers=[("Authorization", "Bearer t")],
    pre=pre_allow(None, "*"),
    chromium={"outcome": "ok", "failure_stage": None, "exposed_headers": [],
              "note": "C7: Chromium lets * in Access-Control-Allow-Headers cover Authorization"})
add(F, "authorization-star-and-x", err("preflight", True, "GET", "authorization,x-a"),
    headers=[("Authorization", "Bearer t"), ("X-A", "1")], pre=pre_allow(None, "*"),
    chromium={"outcome": "ok", "failure_stage": None, "exposed_headers": [], "note": "C7"})
add(F, "authorization-star-plus-authorization", ok(True, "GET", "authorization", exposed=[]),
    headers=[("Authorization", "Bearer t")], pre=pre_allow(None, "*, Authorization"))
add(F, "authorization-lowercase-listed", ok(True, "GET", "authorization", exposed=[]),
    headers=[("Authorization", "Bearer t")], pre=pre_allow(None, "authorization"))
add(F, "authorization-not-listed", err("preflight", True, "GET", "authorization"),
    headers=[("Authorization", "Bearer t")], pre=pre_allow(None, "x-a"))
add(F, "authorization-put-star-star", err("preflight", True, "PUT", "authorization"), method="PUT",
    headers=[("Authorization", "Basic x")], pre=pre_allow("*", "*"),
    chromium={"outcome": "ok", "failure_stage": None, "exposed_headers": [], "note": "C7"})
# Preflight CORS check (R23) with the actual request's credentials mode.
add(F, "preflight-missing-acao", err("preflight", True, "PUT", None), method="PUT",
    pre={"status": 204, "headers": H(("Access-Control-Allow-Methods", "PUT"))})
add(F, "preflight-acao-mismatch", err("preflight", True, "PUT", None), method="PUT",
    pre={"status": 204, "headers": H(("Access-Control-Allow-Origin", API), ("Access-Control-Allow-Methods", "PUT"))})
add(F, "preflight-acao-echo", ok(True, "PUT", None, exposed=[]), method="PUT",
    pre={"status": 204, "headers": H(("Access-Control-Allow-Origin", O), ("Access-Control-Allow-Methods", "PUT"))})
add(F, "preflight-ok-actual-missing-acao", err("actual", True, "PUT", None), method="PUT", pre=pre_allow("PUT"),
    response={"status": 200, "headers": []})
add(F, "preflight-acao-multiple-lines", err("preflight", True, "PUT", None), method="PUT",
    pre={"status": 204, "headers": STAR + STAR + H(("Access-Control-Allow-Methods", "PUT"))})
# Max-age values never fail a request (R30).
for i, v in enumerate(["abc", "-1", "1.5", "", "99999999999999999999999", "600, 600", "0"]):
    add(F, f"max-age-never-fails-{i}", ok(True, "PUT", None, exposed=[]), method="PUT",
        pre=pre_allow("PUT", extra=[("Access-Control-Max-Age", v)]))
# ACEH on the preflight has no effect (R44).
add(F, "preflight-aceh-ignored", ok(True, "PUT", None, exposed=[]), method="PUT",
    pre=pre_allow("PUT", extra=[("Access-Control-Expose-Headers", "x-a")]),
    response={"status": 200, "headers": STAR + H(("X-A", "1"))})
add(F, "simple-request-ignores-preflight-answer", ok(exposed=[]), pre={"status": 500, "headers": []})

# ---------------------------------------------------------------- credentials.jsonl (R23, R27, R29, R39-R42, R53)
F = "credentials.jsonl"
add(F, "include-echo-and-true", ok(exposed=[]), cred="include", response=resp(200, ECHO_C))
add(F, "include-star", err("actual"), cred="include", response=resp(200, STAR + H(("Access-Control-Allow-Credentials", "true"))))
add(F, "include-echo-no-acac", err("actual"), cred="include", response=resp(200, ECHO))
for v in ["TRUE", "True", "false", "", "1", "yes", " true2", "true, true"]:
    add(F, f"include-acac-{v.strip() or 'empty'}".replace(", ", "-"), err("actual"), cred="include",
        response=resp(200, ECHO + H(("Access-Control-Allow-Credentials", v))))
add(F, "include-acac-two-lines", err("actual"), cred="include",
    response=resp(200, ECHO + H(("Access-Control-Allow-Credentials", "true"), ("Access-Control-Allow-Credentials", "true"))))
add(F, "include-acac-whitespace-normalized", ok(exposed=[]), cred="include",
    response=resp(200, ECHO + H(("Access-Control-Allow-Credentials", "true"))))
for c in ["omit", "same-origin"]:
    add(F, f"{c}-star-ok", ok(exposed=[]), cred=c)
    add(F, f"{c}-star-acac-true-ignored", ok(exposed=[]), cred=c, response=resp(200, STAR + H(("Access-Control-Allow-Credentials", "true"))))
    add(F, f"{c}-echo-acac-garbage-ignored", ok(exposed=[]), cred=c, response=resp(200, ECHO + H(("Access-Control-Allow-Credentials", "nope"))))
    add(F, f"{c}-star-methods", ok(True, "PUT", None, exposed=[]), cred=c, method="PUT", pre=pre_allow("*"))
    add(F, f"{c}-star-headers", ok(True, "GET", "x-a", exposed=[]), cred=c, headers=[("X-A", "1")], pre=pre_allow(None, "*"))
add(F, "include-preflight-needs-acac", err("preflight", True, "PUT", None), cred="include", method="PUT",
    pre={"status": 204, "headers": ECHO + H(("Access-Control-Allow-Methods", "PUT"))}, response=resp(200, ECHO_C))
add(F, "include-preflight-star-origin", err("preflight", True, "PUT", None), cred="include", method="PUT",
    pre={"status": 204, "headers": STAR + H(("Access-Control-Allow-Credentials", "true"), ("Access-Control-Allow-Methods", "PUT"))},
    response=resp(200, ECHO_C))
add(F, "include-preflight-ok", ok(True, "PUT", None, exposed=[]), cred="include", method="PUT",
    pre=pre_allow("PUT", cred=True), response=resp(200, ECHO_C))
add(F, "include-star-methods-fail", err("preflight", True, "PUT", None), cred="include", method="PUT",
    pre=pre_allow("*", cred=True), response=resp(200, ECHO_C))
add(F, "include-method-literally-star", ok(True, "*", None, exposed=[]), cred="include", method="*",
    pre=pre_allow("*", cred=True), response=resp(200, ECHO_C))
add(F, "include-star-headers-fail", err("preflight", True, "GET", "x-a"), cred="include", headers=[("X-A", "1")],
    pre=pre_allow(None, "*", cred=True), response=resp(200, ECHO_C))
add(F, "include-header-literally-star", ok(True, "GET", "*", exposed=[]), cred="include", headers=[("*", "1")],
    pre=pre_allow(None, "*", cred=True), response=resp(200, ECHO_C))
add(F, "include-authorization-star-fails-everywhere", err("preflight", True, "GET", "authorization"), cred="include",
    headers=[("Authorization", "x")], pre=pre_allow(None, "*", cred=True), response=resp(200, ECHO_C))
add(F, "include-authorization-listed", ok(True, "GET", "authorization", exposed=[]), cred="include",
    headers=[("Authorization", "x")], pre=pre_allow(None, "Authorization", cred=True), response=resp(200, ECHO_C))
# WPT cors-preflight-star method-case matrix with credentials.
for m, acam, good in [("put", "PUT", True), ("put", "put", False), ("delete", "DELETE", True), ("delete", "delete", False),
                      ("patch", "PATCH", False), ("PATCH", "patch", False), ("patch", "patch", True), ("PATCH", "PATCH", True)]:
    norm = m.upper() if m in ("put", "delete") else m
    e = ok(True, norm, None, exposed=[]) if good else err("preflight", True, norm, None)
    add(F, f"include-method-case-{m}-vs-{acam}", e, cred="include", method=m, pre=pre_allow(acam, cred=True),
        response=resp(200, ECHO_C))
add(F, "include-get-acam-get-lowercase", ok(exposed=[]), cred="include", response=resp(200, ECHO_C))

# ---------------------------------------------------------------- cors_check.jsonl (R6, R38-R43, R45)
F = "cors_check.jsonl"
bad_acao = [API, O + "/", "https://APP.example.test", "https://app.example.test:443", "http://app.example.test",
            "app.example.test", "", "null", O + ", " + O, O + "," + O, "*, " + O, " ", "https://app.example.test.",
            "https://app.example.test:8443", "HTTPS://app.example.test", O + "/path"]
for i, v in enumerate(bad_acao):
    add(F, f"acao-bad-{i}", err("actual"), response=resp(200, H(("Access-Control-Allow-Origin", v))))
add(F, "acao-echo", ok(exposed=[], origin_header=O), response=resp(200, ECHO))
add(F, "acao-star", ok(exposed=[], origin_header=O))
add(F, "acao-missing", err("actual", origin_header=O), response=resp(200, []))
for i, lines in enumerate([[O, O], ["*", "*"], ["*", O], ["", O], [O, ""], [O, API]]):
    add(F, f"acao-multiple-lines-{i}", err("actual"), response=resp(200, [["Access-Control-Allow-Origin", v] for v in lines]))
for st in [201, 204, 301, 400, 401, 403, 404, 409, 418, 429, 500, 502, 503]:
    add(F, f"error-status-with-acao-{st}", ok(exposed=[]), response=resp(st, STAR))
for st in [400, 401, 403, 404, 500, 502, 503, 504]:
    add(F, f"error-status-without-acao-{st}", err("actual"), response=resp(st, H(("Content-Type", "text/html"))))
add(F, "opaque-page-acao-null", ok(exposed=[], origin_header="null"), origin="null", response=resp(200, H(("Access-Control-Allow-Origin", "null"))))
add(F, "opaque-page-acao-star", ok(exposed=[], origin_header="null"), origin="null")
add(F, "opaque-page-acao-origin", err("actual"), origin="null", response=resp(200, ECHO))
add(F, "opaque-page-include-null-true", ok(exposed=[]), origin="null", cred="include",
    response=resp(200, H(("Access-Control-Allow-Origin", "null"), ("Access-Control-Allow-Credentials", "true"))))
for o in ["http://localhost:3000", "http://127.0.0.1:8080", "http://[::1]:5173", "https://xn--bcher-kva.example"]:
    add(F, f"origin-echo-{o}", ok(exposed=[], origin_header=o), origin=o, response=resp(200, H(("Access-Control-Allow-Origin", o))))
add(F, "ipv6-long-form-mismatch", err("actual"), origin="http://[::1]:5173",
    response=resp(200, H(("Access-Control-Allow-Origin", "http://[0:0:0:0:0:0:0:1]:5173"))))
add(F, "other-port-is-cross-origin", ok(exposed=[], origin_header=O), url="https://app.example.test:8443/r")
add(F, "other-scheme-is-cross-origin", err("actual", origin_header=O), url="http://app.example.test/r", response=resp(200, []))
add(F, "post-simple-origin-header", ok(exposed=[], origin_header=O), method="POST", headers=[("Content-Type", "text/plain")])
# R16: same-origin requests are not CORS.
add(F, "same-origin-put-no-preflight", ok(exposed=["content-type", "x-a"], origin_header=O), method="PUT",
    url=O + "/r", headers=[("X-Custom", "1")],
    response=resp(200, H(("Content-Type", "text/plain"), ("X-A", "1"), ("Set-Cookie", "a=b"))))
add(F, "same-origin-get-without-acao", ok(exposed=["content-type"]), url=O + "/r", response=resp(200, H(("Content-Type", "text/plain"))))
add(F, "same-origin-mode-cross-origin", err("request"), mode="same-origin")
add(F, "same-origin-mode-same-origin", ok(exposed=[]), mode="same-origin", url=O + "/x", response=resp(200, []))
add(F, "non-http-scheme", err("request"), url="ftp://files.example.test/a")

# ---------------------------------------------------------------- expose.jsonl (R44)
F = "expose.jsonl"
SAFE = ["Cache-Control", "Content-Language", "Content-Length", "Content-Type", "Expires", "Last-Modified", "Pragma"]
for n in SAFE:
    add(F, f"expose-default-{n.lower()}", ok(exposed=[n.lower()]), response=resp(200, STAR + H((n, "x"))))
for n in ["Age", "Server", "Warning", "Set-Cookie", "Set-Cookie2", "ETag", "X-Total-Count", "Access-Control-Allow-Origin", "Date", "Link"]:
    add(F, f"expose-hidden-{n.lower()}", ok(exposed=[]), response=resp(200, STAR + H((n, "x"))) if n != "Access-Control-Allow-Origin" else resp(200, STAR))
for c in ["omit", "include"]:
    base = STAR if c == "omit" else ECHO_C
    add(F, f"aceh-age-server-warning-{c}", ok(exposed=["age", "server", "warning"]), cred=c,
        response=resp(200, base + H(("Access-Control-Expose-Headers", "Age, Server, Warning"), ("Age", "1"), ("Server", "x"), ("Warning", "y"))))
    add(F, f"aceh-set-cookie-never-{c}", ok(exposed=[]), cred=c,
        response=resp(200, base + H(("Access-Control-Expose-Headers", "Set-Cookie, Set-Cookie2"), ("Set-Cookie", "a=b"), ("Set-Cookie2", "c=d"))))
add(F, "aceh-star-omit", ok(exposed=["access-control-allow-origin", "access-control-expose-headers", "content-type", "test"]),
    cred="omit", response=resp(200, STAR + H(("Access-Control-Expose-Headers", "*"), ("Test", "1"), ("Set-Cookie", "a=b"), ("Content-Type", "text/plain"))))
add(F, "aceh-star-same-origin-cred", ok(exposed=["*", "access-control-allow-origin", "access-control-expose-headers", "test"]),
    response=resp(200, STAR + H(("Access-Control-Expose-Headers", "*"), ("Test", "1"), ("*", "2"))))
add(F, "aceh-star-include", ok(exposed=["*", "content-type"]), cred="include",
    response=resp(200, ECHO_C + H(("Access-Control-Expose-Headers", "*"), ("Test", "1"), ("*", "2"), ("Content-Type", "text/plain"))))
add(F, "aceh-set-cookie-and-star", ok(exposed=["access-control-allow-origin", "access-control-expose-headers", "test"]),
    response=resp(200, STAR + H(("Access-Control-Expose-Headers", "set-cookie, *"), ("Test", "1"), ("Set-Cookie", "x=y"))))
add(F, "aceh-case-insensitive", ok(exposed=["x-total-count"]),
    response=resp(200, STAR + H(("access-control-expose-headers", "X-TOTAL-COUNT"), ("x-Total-count", "3"))))
add(F, "aceh-two-lines", ok(exposed=["x-a", "x-b"]),
    response=resp(200, STAR + H(("Access-Control-Expose-Headers", "x-a"), ("Access-Control-Expose-Headers", "x-b"), ("X-A", "1"), ("X-B", "2"), ("X-C", "3"))))
add(F, "aceh-names-absent-header", ok(exposed=[]), response=resp(200, STAR + H(("Access-Control-Expose-Headers", "x-a"))))
add(F, "aceh-duplicate-response-headers", ok(exposed=["x-a"]),
    response=resp(200, STAR + H(("Access-Control-Expose-Headers", "x-a"), ("X-A", "1"), ("x-a", "2"))))
add(F, "aceh-empty-items", ok(exposed=["x-a", "x-b"]),
    response=resp(200, STAR + H(("Access-Control-Expose-Headers", "x-a,, x-b"), ("X-A", "1"), ("X-B", "2"))))
add(F, "aceh-etag", ok(exposed=["content-type", "etag"]),
    response=resp(200, STAR + H(("Access-Control-Expose-Headers", "ETag"), ("ETag", "\"v1\""), ("Content-Type", "application/json"))))
add(F, "expose-after-preflight", ok(True, "PUT", None, exposed=["content-type", "location"]), method="PUT", pre=pre_allow("PUT"),
    response=resp(201, STAR + H(("Access-Control-Expose-Headers", "Location"), ("Location", "/r/1"), ("Content-Type", "application/json"))))

# ---------------------------------------------------------------- redirects.jsonl (R43, R46-R52)
F = "redirects.jsonl"
def redir(st, loc, headers=None):
    return {"status": st, "headers": (headers if headers is not None else STAR) + H(("Location", loc))}
for st in [301, 302, 303, 307, 308]:
    add(F, f"cors-to-same-cors-{st}", ok(exposed=[], origin_header=O), redirects=[redir(st, API + "/b")], response=resp(200, ECHO))
    add(F, f"cors-to-other-cors-{st}", ok(exposed=[], origin_header="null"), redirects=[redir(st, API2 + "/b")])
    add(F, f"cors-to-other-cors-echo-fails-{st}", err("actual", origin_header="null"), redirects=[redir(st, API2 + "/b")], response=resp(200, ECHO))
    add(F, f"cors-to-other-cors-null-{st}", ok(exposed=[], origin_header="null"), redirects=[redir(st, API2 + "/b")],
        response=resp(200, H(("Access-Control-Allow-Origin", "null"))))
    add(F, f"same-origin-to-cors-{st}", ok(exposed=[], origin_header=O), url=O + "/start", redirects=[redir(st, API + "/b", [])],
        response=resp(200, ECHO))
    add(F, f"cors-to-same-origin-{st}", ok(exposed=[], origin_header="null"), redirects=[redir(st, O + "/b")])
    add(F, f"cors-to-same-origin-echo-fails-{st}", err("actual"), redirects=[redir(st, O + "/b")], response=resp(200, ECHO))
    add(F, f"redirect-without-acao-{st}", err("actual"), redirects=[redir(st, API + "/b", [])])
add(F, "relative-location", ok(exposed=[], origin_header=O), redirects=[redir(302, "/b?x=1")], response=resp(200, ECHO))
add(F, "a-b-b-keeps-origin", ok(exposed=[], origin_header=O), redirects=[redir(302, API + "/b"), redir(302, API + "/c")], response=resp(200, ECHO))
add(F, "a-b-c-b-tainted", ok(exposed=[], origin_header="null"), redirects=[redir(302, API2 + "/b"), redir(302, API + "/c")])
# R48 userinfo.
for i, (start, loc) in enumerate([(O + "/s", "https://user:pass@api.example.test/b"), (U, "https://user:pass@app.example.test/b"),
                                  (U, "https://user:@api.example.test/b"), (U, "https://:pass@api.example.test/b"),
                                  (U, "https://user:pass@api2.example.test/b"), (O + "/s", "https://user@api.example.test/b")]):
    add(F, f"redirect-userinfo-{i}", err("actual"), url=start, redirects=[redir(302, loc)])
add(F, "redirect-userinfo-same-origin-only", ok(exposed=["content-type"]), url=O + "/s",
    redirects=[redir(302, "https://user:pass@app.example.test/b", [])], response=resp(200, H(("Content-Type", "text/plain"))))
add(F, "redirect-no-userinfo-ok", ok(exposed=[]), redirects=[redir(302, API2 + "/b")])
# R47.
add(F, "redirect-to-data-url", err("actual"), redirects=[redir(302, "data:text/plain,hi")])
add(F, "redirect-to-ftp", err("actual"), redirects=[redir(302, "ftp://api.example.test/x")])
add(F, "redirect-unparsable-location", err("actual"), redirects=[redir(302, "http://[bad")])
add(F, "redirect-without-location-is-final", ok(exposed=[]), redirects=[{"status": 302, "headers": STAR}],
    response=resp(200, ECHO))
add(F, "redirect-20-ok", ok(exposed=[], origin_header=O), redirects=[redir(302, f"{API}/h{i}") for i in range(20)], response=resp(200, ECHO))
add(F, "redirect-21-fails", err("actual"), redirects=[redir(302, f"{API}/h{i}") for i in range(21)], response=resp(200, ECHO))
# R52: a new preflight after a redirect (one preflight_response answers both).
add(F, "preflighted-redirect-same-origin-target", ok(True, "GET", "x-w3c", exposed=[], origin_header=O), headers=[("X-W3C", "1")],
    pre=pre_allow(None, "x-w3c", extra=[]), redirects=[redir(307, API + "/b")], response=resp(200, ECHO))
add(F, "preflighted-redirect-other-origin-star", ok(True, "GET", "x-w3c", exposed=[], origin_header="null"), headers=[("X-W3C", "1")],
    pre=pre_allow(None, "x-w3c"), redirects=[redir(307, API2 + "/b")])
add(F, "preflighted-redirect-second-preflight-echo-fails", err("preflight", True, "GET", "x-w3c"), headers=[("X-W3C", "1")],
    pre={"status": 204, "headers": ECHO + H(("Access-Control-Allow-Headers", "x-w3c"))}, redirects=[redir(307, API2 + "/b", ECHO)],
    response=resp(200, H(("Access-Control-Allow-Origin", "null"))))
add(F, "same-origin-to-cors-preflighted", ok(True, "PUT", "x-w3c", exposed=[], origin_header=O), method="PUT", url=O + "/s",
    headers=[("X-W3C", "1")], pre=pre_allow("PUT", "x-w3c"), redirects=[redir(307, API + "/b", [])], response=resp(200, ECHO))
add(F, "same-origin-to-cors-preflight-rejects", err("preflight", True, "PUT", "x-w3c"), method="PUT", url=O + "/s",
    headers=[("X-W3C", "1")], pre=pre_allow("PUT"), redirects=[redir(307, API + "/b", [])], response=resp(200, ECHO))
# R49: method change.
add(F, "post-json-303-becomes-get", ok(True, "POST", "content-type", exposed=[]), method="POST",
    headers=[("Content-Type", "application/json")], pre=pre_allow(None, "content-type"), redirects=[redir(303, API2 + "/b")])
add(F, "same-origin-put-303-to-cors-no-preflight", ok(exposed=[], origin_header=O), method="PUT", url=O + "/s",
    headers=[("Content-Type", "application/json")], redirects=[redir(303, API + "/b", [])], response=resp(200, ECHO))
add(F, "same-origin-post-json-301-to-cors-no-preflight", ok(exposed=[], origin_header=O), method="POST", url=O + "/s",
    headers=[("Content-Type", "application/json")], redirects=[redir(301, API + "/b", [])], response=resp(200, ECHO))
add(F, "same-origin-post-json-307-to-cors-preflight", ok(True, "POST", "content-type", exposed=[]), method="POST", url=O + "/s",
    headers=[("Content-Type", "application/json")], pre=pre_allow(None, "content-type"), redirects=[redir(307, API + "/b", [])],
    response=resp(200, ECHO))
add(F, "same-origin-put-302-keeps-put", ok(True, "PUT", None, exposed=[]), method="PUT", url=O + "/s",
    pre=pre_allow("PUT"), redirects=[redir(302, API + "/b", [])], response=resp(200, ECHO))
# R50: Authorization is removed on a cross-origin hop.
add(F, "same-origin-authorization-redirect-cross-origin", ok(exposed=[], origin_header=O), url=O + "/s",
    headers=[("Authorization", "Bearer t")], redirects=[redir(302, API + "/b", [])], response=resp(200, ECHO))
add(F, "same-origin-authorization-redirect-same-origin", ok(exposed=["content-type"]), url=O + "/s",
    headers=[("Authorization", "Bearer t")], redirects=[redir(302, O + "/b", [])], response=resp(200, H(("Content-Type", "text/plain"))))
# Redirect after preflight is followed (C18 / current Fetch).
add(F, "redirect-after-preflight-followed", ok(True, "DELETE", None, exposed=[]), method="DELETE",
    pre=pre_allow("DELETE"), redirects=[redir(308, API + "/b")])
add(F, "include-redirect-tainted-needs-null", ok(exposed=[], origin_header="null"), cred="include",
    redirects=[redir(302, API2 + "/b", ECHO_C)],
    response=resp(200, H(("Access-Control-Allow-Origin", "null"), ("Access-Control-Allow-Credentials", "true"))))
add(F, "include-redirect-tainted-star-fails", err("actual"), cred="include", redirects=[redir(302, API2 + "/b", ECHO_C)])
add(F, "include-redirect-response-star-fails", err("actual"), cred="include", redirects=[redir(302, API + "/b", STAR)],
    response=resp(200, ECHO_C))

# ---------------------------------------------------------------- no_cors.jsonl (R14, R16)
F = "no_cors.jsonl"
add(F, "no-cors-get-no-acao", ok(exposed=[]), mode="no-cors", response=resp(200, H(("Content-Type", "text/plain"))))
add(F, "no-cors-get-acao", ok(exposed=[]), mode="no-cors")
add(F, "no-cors-500", ok(exposed=[]), mode="no-cors", response=resp(500, []))
for m in ["PUT", "DELETE", "patch", "OPTIONS"]:
    add(F, f"no-cors-method-{m}", err("request"), mode="no-cors", method=m)
add(F, "no-cors-post-json-dropped", ok(exposed=[], origin_header=O), mode="no-cors", method="POST",
    headers=[("Content-Type", "application/json")], response=resp(200, []))
add(F, "no-cors-custom-header-dropped", ok(exposed=[]), mode="no-cors", headers=[("X-Custom", "1"), ("Range", "bytes=0-1")], response=resp(200, []))
add(F, "no-cors-include", ok(exposed=[]), mode="no-cors", cred="include", response=resp(200, []))
add(F, "no-cors-redirect-other-origin", ok(exposed=[]), mode="no-cors", redirects=[redir(302, API2 + "/b", [])], response=resp(200, []))
add(F, "no-cors-redirect-userinfo-allowed-cross", ok(exposed=[]), mode="no-cors", url=O + "/s",
    redirects=[redir(302, "https://u:p@api.example.test/b", [])], response=resp(200, []))
add(F, "no-cors-post-https-to-http-origin-null", ok(exposed=[], origin_header="null"), mode="no-cors", method="POST",
    url="http://api.example.test/r", response=resp(200, []))
add(F, "no-cors-head", ok(exposed=[]), mode="no-cors", method="HEAD", response=resp(200, []))

# ---------------------------------------------------------------- pna.jsonl (R57-R59, legacy)
F = "pna.jsonl"
PNA = {"client_address_space": "public", "target_address_space": "private", "secure_context": True}
PNA_L = {"client_address_space": "public", "target_address_space": "local", "secure_context": True}
APN = [("Access-Control-Allow-Private-Network", "true")]
add(F, "pna-get-ok", ok(True, "GET", None, exposed=[], pna=True), pna=PNA, pre=pre_allow(extra=APN))
add(F, "pna-local-get-ok", ok(True, "GET", None, exposed=[], pna=True), pna=PNA_L, pre=pre_allow(extra=APN))
add(F, "pna-private-to-local", ok(True, "GET", None, exposed=[], pna=True),
    pna={"client_address_space": "private", "target_address_space": "local", "secure_context": True}, pre=pre_allow(extra=APN))
add(F, "pna-missing-allow", err("preflight", True, "GET", None), pna=PNA, pre=pre_allow())
for v in ["TRUE", "false", "", "true, true"]:
    add(F, f"pna-bad-allow-{v.replace(', ', '-') or 'empty'}", err("preflight", True, "GET", None), pna=PNA,
        pre=pre_allow(extra=[("Access-Control-Allow-Private-Network", v)]))
add(F, "pna-insecure-context", err("request"), pna=dict(PNA, secure_context=False))
add(F, "pna-same-space-no-preflight", ok(exposed=[]), pna={"client_address_space": "private", "target_address_space": "private", "secure_context": False})
add(F, "pna-to-more-public-no-preflight", ok(exposed=[]), pna={"client_address_space": "local", "target_address_space": "public", "secure_context": False})
add(F, "pna-put-cors-and-pna", ok(True, "PUT", "x-a", exposed=[], pna=True), method="PUT", headers=[("X-A", "1")], pna=PNA,
    pre=pre_allow("PUT", "x-a", extra=APN))
add(F, "pna-put-missing-methods", err("preflight", True, "PUT", "x-a"), method="PUT", headers=[("X-A", "1")], pna=PNA,
    pre=pre_allow(None, "x-a", extra=APN))
add(F, "pna-preflight-without-acao", err("preflight", True, "GET", None), pna=PNA, pre={"status": 204, "headers": H(*APN)})
add(F, "pna-actual-without-acao", err("actual", True, "GET", None), pna=PNA, pre=pre_allow(extra=APN), response=resp(200, []))


# ---------------------------------------------------------------- cache.jsonl (R18, R19, R30-R37, C1-C7)
# Earlier fetches (`before`) run first in the same page against one preflight cache; `at` is
# the time in seconds. `expect` is the last fetch's. The spec side's UA limit on max-age is
# taken as 86400 s (Firefox's); Chromium's is 7200 s (C1).
F = "cache.jsonl"
def ma(v):
    return [("Access-Control-Max-Age", v)]
PUT_OK = ok(True, "PUT", None, exposed=[])
PUT_HIT = ok(False, exposed=[], origin_header=O)
PUT_MISS = ok(True, "PUT", None, exposed=[], origin_header=O)
def put_first(age="600", at=None, **kw):
    """An earlier PUT whose preflight allows PUT for `age` seconds."""
    extra = ma(age) if age is not None else []
    return earlier(PUT_OK, method="PUT", pre=pre_allow("PUT", extra=extra), at=at, **kw)
# R18/R31/R35: the same request again is served by the cache.
add(F, "cache-put-again", PUT_HIT, method="PUT", pre=pre_allow("PUT"), before=[put_first()], at=10)
# R36: a header-name entry.
add(F, "cache-header-again", ok(False, exposed=[]), headers=[("X-A", "1")], pre=pre_allow(None, "x-a"),
    before=[earlier(ok(True, "GET", "x-a", exposed=[]), headers=[("X-A", "1")], pre=pre_allow(None, "x-a", extra=ma("600")))], at=1)
add(F, "cache-other-header", ok(True, "GET", "x-b", exposed=[]), headers=[("X-B", "1")], pre=pre_allow(None, "x-b"),
    before=[earlier(ok(True, "GET", "x-a", exposed=[]), headers=[("X-A", "1")], pre=pre_allow(None, "x-a", extra=ma("600")))], at=1)
# R35: a method entry covers only its method.
add(F, "cache-other-method", ok(True, "DELETE", None, exposed=[]), method="DELETE", pre=pre_allow("DELETE"),
    before=[put_first()], at=1)
# R32/R34: the key is the URL, query included.
add(F, "cache-other-query", PUT_MISS, method="PUT", url=U + "?page=2", pre=pre_allow("PUT"), before=[put_first()], at=1)
add(F, "cache-other-path", PUT_MISS, method="PUT", url=API + "/other", pre=pre_allow("PUT"), before=[put_first()], at=1)
# R32: and the origin (another page of another origin).
add(F, "cache-other-page-origin", ok(True, "PUT", None, exposed=[]), method="PUT", origin="https://other.example.test",
    pre=pre_allow("PUT"), before=[put_first()], at=1)
# R30: no max-age means 5 s (both); R33: expired entries are not used.
add(F, "cache-default-max-age-fresh", PUT_HIT, method="PUT", pre=pre_allow("PUT"), before=[put_first(None)], at=3)
add(F, "cache-default-max-age-expired", PUT_MISS, method="PUT", pre=pre_allow("PUT"), before=[put_first(None)], at=6)
add(F, "cache-max-age-2-fresh", PUT_HIT, method="PUT", pre=pre_allow("PUT"), before=[put_first("2")], at=1)
add(F, "cache-max-age-2-expired", PUT_MISS, method="PUT", pre=pre_allow("PUT"), before=[put_first("2")], at=3)
add(F, "cache-max-age-0", PUT_MISS, method="PUT", pre=pre_allow("PUT"), before=[put_first("0")])
add(F, "cache-expiry-between-earlier-fetches", PUT_MISS, method="PUT", pre=pre_allow("PUT"),
    before=[put_first("600", at=0), earlier(ok(False, exposed=[]), method="PUT", pre=pre_allow("PUT"), at=599)], at=600)
# C1: Chromium caps max-age at 7200 s; the spec side's limit (86400 s) is larger.
add(F, "cache-cap-7200-chromium", PUT_HIT, method="PUT", pre=pre_allow("PUT"), before=[put_first("86400")], at=7200,
    chromium={"preflight": True, "preflight_request_headers": {"access-control-request-method": "PUT", "access-control-request-headers": None},
              "note": "C1: Chromium caps Access-Control-Max-Age at 7200 s"})
add(F, "cache-cap-7199-both", PUT_HIT, method="PUT", pre=pre_allow("PUT"), before=[put_first("86400")], at=7199)
add(F, "cache-cap-86400-spec", PUT_MISS, method="PUT", pre=pre_allow("PUT"), before=[put_first("100000")], at=86400)
add(F, "cache-cap-86399-spec", PUT_HIT, method="PUT", pre=pre_allow("PUT"), before=[put_first("100000")], at=86399,
    chromium={"preflight": True, "preflight_request_headers": {"access-control-request-method": "PUT", "access-control-request-headers": None},
              "note": "C1: past Chromium's 7200 s cap"})
# R30/C1 parse failures: the default 5 s, except Chromium's negative value (0: not cached).
add(F, "cache-max-age-abc", PUT_HIT, method="PUT", pre=pre_allow("PUT"), before=[put_first("abc")], at=3)
add(F, "cache-max-age-negative", PUT_HIT, method="PUT", pre=pre_allow("PUT"), before=[put_first("-1")], at=1,
    chromium={"preflight": True, "preflight_request_headers": {"access-control-request-method": "PUT", "access-control-request-headers": None},
              "note": "C1: a negative max-age is 0 in Chromium (not cached); the spec falls back to 5 s"})
add(F, "cache-max-age-two-lines", PUT_MISS, method="PUT", pre=pre_allow("PUT"),
    before=[earlier(PUT_OK, method="PUT", pre=pre_allow("PUT", extra=ma("600") + ma("600")))], at=6)
add(F, "cache-max-age-list", PUT_MISS, method="PUT", pre=pre_allow("PUT"), before=[put_first("600, 600")], at=6)
add(F, "cache-max-age-fraction", PUT_MISS, method="PUT", pre=pre_allow("PUT"), before=[put_first("600.5")], at=6)
# R31 merges, C2 replaces: PUT, DELETE, then PUT again.
add(F, "cache-merge-vs-replace-methods", PUT_HIT, method="PUT", pre=pre_allow("PUT"),
    before=[put_first(at=0), earlier(ok(True, "DELETE", None, exposed=[]), method="DELETE", pre=pre_allow("DELETE", extra=ma("600")), at=1)], at=2,
    chromium={"preflight": True, "preflight_request_headers": {"access-control-request-method": "PUT", "access-control-request-headers": None},
              "note": "C2: Chromium keeps one entry per origin and URL; DELETE's preflight replaced PUT's"})
add(F, "cache-merge-vs-replace-headers", ok(False, exposed=[]), headers=[("X-A", "1"), ("X-B", "1")], pre=pre_allow(None, "x-a, x-b"),
    before=[earlier(ok(True, "GET", "x-a", exposed=[]), headers=[("X-A", "1")], pre=pre_allow(None, "x-a", extra=ma("600"))),
            earlier(ok(True, "GET", "x-b", exposed=[]), headers=[("X-B", "1")], pre=pre_allow(None, "x-b", extra=ma("600")))], at=1,
    chromium={"preflight": True, "preflight_request_headers": {"access-control-request-method": "GET", "access-control-request-headers": "x-a,x-b"},
              "note": "C2: the second preflight replaced the first"})
# R34/C6: a credentialed entry serves requests without credentials, not the other way round.
PRE_PUT_C = pre_allow("PUT", cred=True, extra=ma("600"))
add(F, "cache-credentialed-serves-omit", ok(False, exposed=[]), method="PUT", cred="omit", pre=pre_allow("PUT"),
    response=resp(200, ECHO),
    before=[earlier(PUT_OK, method="PUT", cred="include", pre=PRE_PUT_C, response=resp(200, ECHO_C))], at=1)
add(F, "cache-omit-does-not-serve-include", ok(True, "PUT", None, exposed=[]), method="PUT", cred="include",
    pre=pre_allow("PUT", cred=True), response=resp(200, ECHO_C),
    before=[earlier(PUT_OK, method="PUT", cred="omit", pre=pre_allow("PUT", extra=ma("600")))], at=1)
add(F, "cache-same-origin-mode-serves-omit", ok(False, exposed=[]), method="PUT", cred="omit", pre=pre_allow("PUT"),
    before=[put_first()], at=1)
# R35/R36: `*` entries (without credentials).
add(F, "cache-star-method", ok(False, exposed=[]), method="DELETE", pre=pre_allow("DELETE"),
    before=[earlier(PUT_OK, method="PUT", pre=pre_allow("*", extra=ma("600")))], at=1)
add(F, "cache-star-header", ok(False, exposed=[]), headers=[("X-B", "1")], pre=pre_allow(None, "x-b"),
    before=[earlier(ok(True, "GET", "x-a", exposed=[]), headers=[("X-A", "1")], pre=pre_allow(None, "*", extra=ma("600")))], at=1)
# R36/C7: `*` never covers Authorization in the cache; the spec also fails the preflight itself
# (R28), Chromium lets it through (C7) but looks up strictly, so it preflights every time.
AUTH = [("Authorization", "Bearer t")]
add(F, "cache-star-not-authorization", err("preflight", True, "GET", "authorization"), headers=AUTH,
    pre=pre_allow(None, "*", extra=ma("600")),
    before=[earlier(ok(True, "GET", "x-a", exposed=[]), headers=[("X-A", "1")], pre=pre_allow(None, "*", extra=ma("600")))], at=1,
    chromium={"outcome": "ok", "failure_stage": None, "exposed_headers": [],
              "note": "C7: the cached * does not cover Authorization, so Chromium preflights; its preflight check lets * cover it"})
add(F, "cache-authorization-star-every-time", err("preflight", True, "GET", "authorization"), headers=AUTH,
    pre=pre_allow(None, "*", extra=ma("600")),
    before=[earlier(err("preflight", True, "GET", "authorization"), headers=AUTH, pre=pre_allow(None, "*", extra=ma("600")),
                    chromium={"outcome": "ok", "failure_stage": None, "exposed_headers": [], "note": "C7"})], at=1,
    chromium={"outcome": "ok", "failure_stage": None, "exposed_headers": [],
              "note": "C7: Chromium stores the entry but its lookups never let * cover Authorization: a preflight every time"})
add(F, "cache-authorization-listed", ok(False, exposed=[]), headers=AUTH, pre=pre_allow(None, "authorization"),
    before=[earlier(ok(True, "GET", "authorization", exposed=[]), headers=AUTH, pre=pre_allow(None, "authorization", extra=ma("600")))], at=1)
# R19/C5: a failed CORS-with-preflight fetch clears the entries for its origin and URL (spec);
# Chromium keeps them.
add(F, "cache-cleared-after-failed-actual", PUT_MISS, method="PUT", pre=pre_allow("PUT"),
    before=[put_first(at=0),
            earlier(err("actual", False), method="PUT", pre=pre_allow("PUT"), response=resp(200, []), at=1)], at=2,
    chromium={"preflight": False, "note": "C5: Chromium keeps the entry after the CORS failure of the actual response"})
add(F, "cache-clear-is-per-url", PUT_HIT, method="PUT", pre=pre_allow("PUT"),
    before=[put_first(at=0),
            earlier(err("actual", True, "PUT", None), method="PUT", url=API + "/other", pre=pre_allow("PUT", extra=ma("600")),
                    response=resp(200, []), at=1)], at=2)
# C3: Chromium never caches a URL of 1024 bytes or more.
LONG = U + "?" + "q" * (1030 - len(U))
add(F, "cache-long-url-chromium", ok(False, exposed=[]), method="PUT", url=LONG, pre=pre_allow("PUT"),
    before=[earlier(PUT_OK, method="PUT", url=LONG, pre=pre_allow("PUT", extra=ma("600")))], at=1,
    chromium={"preflight": True, "preflight_request_headers": {"access-control-request-method": "PUT", "access-control-request-headers": None},
              "note": "C3: Chromium does not cache URLs of 1024 bytes or more"})
# C4: Chromium's cache modes no-store, reload and no-cache skip the lookup; no-store also
# stores nothing. The spec's preflight cache ignores the cache mode.
C4 = {"preflight": True, "preflight_request_headers": {"access-control-request-method": "PUT", "access-control-request-headers": None}}
for mode in ["no-store", "reload", "no-cache"]:
    add(F, f"cache-mode-{mode}-skips-lookup", PUT_HIT, method="PUT", cache=mode, pre=pre_allow("PUT"), before=[put_first()], at=1,
        chromium=dict(C4, note=f"C4: cache mode '{mode}' skips the preflight cache lookup"))
add(F, "cache-mode-force-cache-uses-cache", PUT_HIT, method="PUT", cache="force-cache", pre=pre_allow("PUT"), before=[put_first()], at=1)
add(F, "cache-mode-no-store-stores-nothing", PUT_HIT, method="PUT", pre=pre_allow("PUT"), before=[put_first(cache="no-store")], at=1,
    chromium=dict(C4, note="C4: a no-store fetch does not fill the preflight cache"))
add(F, "cache-mode-reload-stores", PUT_HIT, method="PUT", pre=pre_allow("PUT"), before=[put_first(cache="reload")], at=1)
add(F, "cache-mode-only-if-cached-cors-throws", err("request"), method="PUT", cache="only-if-cached", pre=pre_allow("PUT"),
    before=[put_first()], at=1)
# R32: the key holds the request's serialized origin, `null` after a tainting redirect: a
# tainted preflight does not serve the page's untainted requests, but serves tainted ones
# (spec); Chromium's tainted entries serve nothing.
U2 = API2 + "/r"
def tainting_put(at=None):
    return earlier(ok(True, "PUT", None, exposed=[], origin_header="null"), method="PUT", at=at,
                   pre=pre_allow("PUT", extra=ma("600")),
                   redirects=[{"status": 307, "headers": H(("Access-Control-Allow-Origin", "*"), ("Location", U2))}])
add(F, "cache-tainted-entry-untainted-request", PUT_MISS, method="PUT", url=U2, pre=pre_allow("PUT"),
    before=[tainting_put()], at=1)
add(F, "cache-tainted-entry-tainted-request", ok(False, exposed=[], origin_header="null"), method="PUT", pre=pre_allow("PUT"),
    redirects=[{"status": 307, "headers": H(("Access-Control-Allow-Origin", "*"), ("Location", U2))}],
    before=[tainting_put()], at=1,
    chromium={"preflight": True, "preflight_request_headers": {"access-control-request-method": "PUT", "access-control-request-headers": None},
              "note": "observed with Chromium 156: a tainted request is keyed by a new opaque origin, so the second tainted fetch preflights again at the redirect target (its first hop is served by the cache)"})

# ---------------------------------------------------------------- stream-body.jsonl (R17, R18, R26; Chromium: HTTP/2 only)
# A ReadableStream body (duplex "half") sets the use-CORS-preflight flag: always the
# CORS-with-preflight path (R17), a method cache match even for a safelisted method (R18), and
# no Access-Control-Allow-Methods means « request method » (R26). Chromium sends a streaming
# body only over HTTP/2 or QUIC: over HTTP/1.1 (always over plain http) the actual request
# fails after the preflight (observed with Chromium 156: net::ERR_ALPN_NEGOTIATION_FAILED).
F = "stream-body.jsonl"
H1 = {"outcome": "network-error", "failure_stage": "actual", "note": "Chromium streams request bodies only over HTTP/2 or QUIC (observed over HTTP/1.1: net::ERR_ALPN_NEGOTIATION_FAILED after the preflight)"}
POST_PRE = ok(True, "POST", None, exposed=[])
add(F, "stream-post-preflight-h2", POST_PRE, method="POST", body="stream", pre=pre_allow())
add(F, "stream-post-preflight-http1", POST_PRE, method="POST", body="stream", pre=pre_allow(), protocol="http/1.1",
    chromium=dict(H1))
OH = "http://app.example.test"
add(F, "stream-post-plain-http", ok(True, "POST", None, exposed=[]), method="POST", body="stream", origin=OH,
    url="http://api.example.test/r", pre=pre_allow(), chromium=dict(H1))
add(F, "stream-post-text-plain-still-preflight", ok(True, "POST", None, exposed=[]), method="POST", body="stream",
    headers=[("Content-Type", "text/plain")], pre=pre_allow())
add(F, "stream-post-unsafe-header", ok(True, "POST", "x-a", exposed=[]), method="POST", body="stream", headers=[("X-A", "1")],
    pre=pre_allow(None, "x-a"))
add(F, "stream-post-preflight-fails", err("preflight", True, "POST", None), method="POST", body="stream",
    pre={"status": 204, "headers": []}, protocol="http/1.1")
add(F, "stream-post-credentials", ok(True, "POST", None, exposed=[]), method="POST", body="stream", cred="include",
    pre=pre_allow(cred=True), response=resp(200, ECHO_C))
# R26: no Access-Control-Allow-Methods allows the request's own method (spec); Chromium has no
# such step, so a non-safelisted method is refused.
R26C = {"outcome": "network-error", "failure_stage": "preflight",
        "note": "R26 is not in Chromium: without Access-Control-Allow-Methods only safelisted methods pass"}
add(F, "stream-put-no-acam", ok(True, "PUT", None, exposed=[]), method="PUT", body="stream", pre=pre_allow(), chromium=R26C)
add(F, "stream-put-no-acam-http1", ok(True, "PUT", None, exposed=[]), method="PUT", body="stream", pre=pre_allow(),
    protocol="http/1.1", chromium=R26C)
add(F, "stream-put-acam-other", err("preflight", True, "PUT", None), method="PUT", body="stream", pre=pre_allow("DELETE"),
    protocol="http/1.1")
add(F, "stream-put-acam-put", ok(True, "PUT", None, exposed=[]), method="PUT", body="stream", pre=pre_allow("PUT"))
# Request constructor: no body on GET/HEAD; a stream needs mode cors (or same-origin).
for m in ["GET", "HEAD", "get"]:
    add(F, f"stream-{m}-throws", err("request"), method=m, body="stream", pre=pre_allow())
add(F, "stream-no-cors-throws", err("request"), method="POST", body="stream", mode="no-cors")
# Same origin: no CORS at all (Chromium still needs HTTP/2 for the stream).
add(F, "stream-same-origin-h2", ok(False, exposed=[]), method="POST", body="stream", url=O + "/upload", response=resp(200, []))
add(F, "stream-same-origin-plain-http", ok(False, exposed=[]), method="POST", body="stream", origin=OH, url=OH + "/upload",
    response=resp(200, []), chromium=dict(H1))
# R18: the flag needs a method cache entry even for POST (spec); Chromium's lookup lets a
# safelisted method through.
ACAM_PUT_600 = pre_allow("PUT", extra=ma("600"))
add(F, "stream-cache-needs-method-entry", POST_PRE, method="POST", body="stream", pre=pre_allow("PUT"), protocol="http/1.1",
    before=[earlier(POST_PRE, method="POST", body="stream", pre=ACAM_PUT_600, chromium=dict(H1))], at=1,
    chromium={"preflight": False, "outcome": "network-error", "failure_stage": "actual",
              "note": "Chromium's preflight cache has no use-CORS-preflight flag: POST is safelisted, no preflight; then HTTP/1.1 fails the stream"})
add(F, "stream-cache-r26-entry", ok(False, exposed=[]), method="POST", body="stream", pre=pre_allow(), protocol="http/1.1",
    before=[earlier(POST_PRE, method="POST", body="stream", pre=pre_allow(extra=ma("600")), chromium=dict(H1))], at=1,
    chromium=dict(H1))
add(F, "stream-cache-put-hit", ok(False, exposed=[]), method="PUT", body="stream", pre=pre_allow("PUT"),
    before=[earlier(ok(True, "PUT", None, exposed=[]), method="PUT", body="stream", pre=ACAM_PUT_600)], at=1)
# HTTP-redirect fetch step 11: a stream cannot be sent twice: any redirect but 303 fails. After
# a 303 the request is a GET without body but keeps the flag, so it is preflighted again.
def redir_to(st, loc=U2):
    return [{"status": st, "headers": H(("Access-Control-Allow-Origin", "*"), ("Location", loc))}]
for st in [307, 308]:
    add(F, f"stream-redirect-{st}", err("actual", True, "POST", None), method="POST", body="stream", pre=pre_allow(),
        redirects=redir_to(st))
add(F, "stream-redirect-303", ok(True, "POST", None, exposed=[], origin_header="null"), method="POST", body="stream",
    pre=pre_allow(), redirects=redir_to(303))
for st in [301, 302]:
    add(F, f"stream-redirect-{st}-post", err("actual", True, "POST", None), method="POST", body="stream", pre=pre_allow(),
        redirects=redir_to(st),
        chromium={"outcome": "ok", "failure_stage": None, "exposed_headers": [], "origin_header": "null",
                  "note": "inferred from Chromium's net/ (not observed: needs HTTP/2): a 301/302 turns the POST into a GET without body, so nothing is re-sent"})
add(F, "stream-redirect-307-http1", err("actual", True, "POST", None), method="POST", body="stream", pre=pre_allow(),
    redirects=redir_to(307), protocol="http/1.1",
        chromium={"note": "Chromium fails before the redirect: a stream over HTTP/1.1 (net::ERR_ALPN_NEGOTIATION_FAILED)"})

# ---------------------------------------------------------------- write
here = os.path.dirname(os.path.abspath(__file__))
for name, items in FILES.items():
    with open(os.path.join(here, name), "w") as f:
        for s in items:
            f.write(json.dumps(s, ensure_ascii=False) + "\n")
    print(f"{name}: {len(items)}")
print("total", sum(len(v) for v in FILES.values()))
