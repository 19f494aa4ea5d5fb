//! Failure reasons: stable codes, Chromium's console messages (research notes §3) and fixes
//! written for the server owner.

use std::fmt;

use super::text::cat;

/// Why a request failed. Codes are stable snake_case strings ([`Reason::code`]), named after
/// Chromium's `CorsError` values where one exists; `Preflight*` variants are the same check
/// failing on the preflight response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The scenario itself is unusable (unparsable origin or URL).
    InvalidScenario,
    /// `fetch()` throws: the method is not a token.
    InvalidMethod,
    /// `fetch()` throws: `CONNECT`, `TRACE` or `TRACK` (R3).
    ForbiddenMethod,
    /// `fetch()` throws: a header name is not a token or a value holds NUL/CR/LF (R5).
    InvalidHeader,
    /// `fetch()` throws: a non-safelisted method in `no-cors` mode (R14).
    MethodUnsupportedInNoCors,
    /// `same-origin` mode to another origin (R16).
    DisallowedByMode,
    /// A cross-origin request to a scheme other than http(s) (R16).
    CorsDisabledScheme,
    /// No `Access-Control-Allow-Origin` (R38).
    MissingAllowOriginHeader,
    /// `Access-Control-Allow-Origin: *` with credentials (R42).
    WildcardOriginNotAllowed,
    /// `Access-Control-Allow-Origin` holds a list or several lines (R40).
    MultipleAllowOriginValues,
    /// `Access-Control-Allow-Origin` is not a URL (R40).
    InvalidAllowOriginValue,
    /// `Access-Control-Allow-Origin` names another origin (R40).
    AllowOriginMismatch,
    /// Credentialed request without `Access-Control-Allow-Credentials: true` (R42).
    InvalidAllowCredentials,
    /// [`Reason::MissingAllowOriginHeader`] on the preflight.
    PreflightMissingAllowOriginHeader,
    /// [`Reason::WildcardOriginNotAllowed`] on the preflight.
    PreflightWildcardOriginNotAllowed,
    /// [`Reason::MultipleAllowOriginValues`] on the preflight.
    PreflightMultipleAllowOriginValues,
    /// [`Reason::InvalidAllowOriginValue`] on the preflight.
    PreflightInvalidAllowOriginValue,
    /// [`Reason::AllowOriginMismatch`] on the preflight.
    PreflightAllowOriginMismatch,
    /// [`Reason::InvalidAllowCredentials`] on the preflight.
    PreflightInvalidAllowCredentials,
    /// Preflight status outside 200–299 (R24).
    PreflightInvalidStatus,
    /// Preflight answered with a redirect (R22).
    PreflightDisallowedRedirect,
    /// A preflight was needed but the server gave no answer.
    PreflightNoResponse,
    /// `Access-Control-Allow-Methods` does not parse (R25).
    InvalidAllowMethodsPreflightResponse,
    /// `Access-Control-Allow-Headers` does not parse (R25).
    InvalidAllowHeadersPreflightResponse,
    /// The method is not allowed by the preflight (R27).
    MethodDisallowedByPreflightResponse,
    /// A request header is not allowed by the preflight (R28, R29).
    HeaderDisallowedByPreflightResponse,
    /// A redirect `Location` carries userinfo (R48).
    RedirectContainsCredentials,
    /// A redirect `Location` that does not parse (R47).
    InvalidRedirect,
    /// A redirect to a non-http(s) URL (R47).
    UnsafeRedirect,
    /// More than 20 redirects (R47).
    TooManyRedirects,
    /// PNA: the preflight lacks `Access-Control-Allow-Private-Network` (R58).
    PreflightMissingAllowPrivateNetwork,
    /// PNA: `Access-Control-Allow-Private-Network` is not `true` (R58).
    PreflightInvalidAllowPrivateNetwork,
    /// PNA: a private network request from a non-secure context (R58).
    InsecurePrivateNetwork,
    /// `fetch()` throws: a `GET` or `HEAD` request with a body (Request constructor).
    GetOrHeadWithBody,
    /// `fetch()` throws: a `ReadableStream` body in `no-cors` mode (Request constructor).
    StreamBodyNotCors,
    /// A `ReadableStream` body over HTTP/1.1: Chromium streams request bodies only over
    /// HTTP/2 or QUIC; the actual request fails before it is sent (observed with Chromium 156
    /// over plain http: `net::ERR_ALPN_NEGOTIATION_FAILED`; `net/` also names it
    /// `ERR_H2_OR_QUIC_REQUIRED`).
    H2OrQuicRequired,
    /// A redirect that would re-send a `ReadableStream` body (any but 303; HTTP-redirect fetch
    /// step 11).
    RedirectWithStreamBody,
    /// `fetch()` throws: cache mode `only-if-cached` without mode `same-origin`.
    OnlyIfCachedNotSameOrigin,
}

impl Reason {
    /// The stable snake_case code.
    pub fn code(self) -> &'static str {
        use Reason::*;
        match self {
            InvalidScenario => "invalid_scenario",
            InvalidMethod => "invalid_method",
            ForbiddenMethod => "forbidden_method",
            InvalidHeader => "invalid_header",
            MethodUnsupportedInNoCors => "method_unsupported_in_no_cors",
            DisallowedByMode => "disallowed_by_mode",
            CorsDisabledScheme => "cors_disabled_scheme",
            MissingAllowOriginHeader => "missing_allow_origin_header",
            WildcardOriginNotAllowed => "wildcard_origin_not_allowed",
            MultipleAllowOriginValues => "multiple_allow_origin_values",
            InvalidAllowOriginValue => "invalid_allow_origin_value",
            AllowOriginMismatch => "allow_origin_mismatch",
            InvalidAllowCredentials => "invalid_allow_credentials",
            PreflightMissingAllowOriginHeader => "preflight_missing_allow_origin_header",
            PreflightWildcardOriginNotAllowed => "preflight_wildcard_origin_not_allowed",
            PreflightMultipleAllowOriginValues => "preflight_multiple_allow_origin_values",
            PreflightInvalidAllowOriginValue => "preflight_invalid_allow_origin_value",
            PreflightAllowOriginMismatch => "preflight_allow_origin_mismatch",
            PreflightInvalidAllowCredentials => "preflight_invalid_allow_credentials",
            PreflightInvalidStatus => "preflight_invalid_status",
            PreflightDisallowedRedirect => "preflight_disallowed_redirect",
            PreflightNoResponse => "preflight_no_response",
            InvalidAllowMethodsPreflightResponse => "invalid_allow_methods_preflight_response",
            InvalidAllowHeadersPreflightResponse => "invalid_allow_headers_preflight_response",
            MethodDisallowedByPreflightResponse => "method_disallowed_by_preflight_response",
            HeaderDisallowedByPreflightResponse => "header_disallowed_by_preflight_response",
            RedirectContainsCredentials => "redirect_contains_credentials",
            InvalidRedirect => "invalid_redirect",
            UnsafeRedirect => "unsafe_redirect",
            TooManyRedirects => "too_many_redirects",
            PreflightMissingAllowPrivateNetwork => "preflight_missing_allow_private_network",
            PreflightInvalidAllowPrivateNetwork => "preflight_invalid_allow_private_network",
            InsecurePrivateNetwork => "insecure_private_network",
            GetOrHeadWithBody => "get_or_head_with_body",
            StreamBodyNotCors => "stream_body_not_cors",
            H2OrQuicRequired => "h2_or_quic_required",
            RedirectWithStreamBody => "redirect_with_stream_body",
            OnlyIfCachedNotSameOrigin => "only_if_cached_not_same_origin",
        }
    }

    /// Whether Chromium prefixes the message with "Response to preflight request doesn't pass
    /// access control check: " (§3).
    pub fn has_preflight_prefix(self) -> bool {
        use Reason::*;
        matches!(
            self,
            PreflightMissingAllowOriginHeader
                | PreflightWildcardOriginNotAllowed
                | PreflightMultipleAllowOriginValues
                | PreflightInvalidAllowOriginValue
                | PreflightAllowOriginMismatch
                | PreflightInvalidAllowCredentials
                | PreflightInvalidStatus
                | PreflightDisallowedRedirect
                | PreflightMissingAllowPrivateNetwork
                | PreflightInvalidAllowPrivateNetwork
        )
    }

    /// The `Preflight*` variant of a CORS-check reason (identity for others).
    pub fn on_preflight(self) -> Reason {
        use Reason::*;
        match self {
            MissingAllowOriginHeader => PreflightMissingAllowOriginHeader,
            WildcardOriginNotAllowed => PreflightWildcardOriginNotAllowed,
            MultipleAllowOriginValues => PreflightMultipleAllowOriginValues,
            InvalidAllowOriginValue => PreflightInvalidAllowOriginValue,
            AllowOriginMismatch => PreflightAllowOriginMismatch,
            InvalidAllowCredentials => PreflightInvalidAllowCredentials,
            other => other,
        }
    }

    /// Whether this failure happens inside `fetch()` before anything is sent (a TypeError
    /// thrown synchronously by `new Request`).
    pub fn is_thrown_before_sending(self) -> bool {
        use Reason::*;
        matches!(
            self,
            InvalidScenario
                | InvalidMethod
                | ForbiddenMethod
                | InvalidHeader
                | MethodUnsupportedInNoCors
                | GetOrHeadWithBody
                | StreamBodyNotCors
                | OnlyIfCachedNotSameOrigin
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A failure: the reason plus the hint Chromium prints (its `failed_parameter`: the offending
/// header value, method or header name) and, for PNA, the target address space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What failed.
    pub reason: Reason,
    /// The offending value, as received (not escaped).
    pub detail: String,
}

impl Failure {
    pub(crate) fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Failure {
            reason,
            detail: detail.into(),
        }
    }

    /// Chromium's reason sentence (the part after "has been blocked by CORS policy: "), without
    /// the preflight prefix. `None` for failures that are not CORS errors.
    pub fn reason_text(&self) -> Option<String> {
        let v = super::headers::escape_hint(&self.detail);
        self.reason_pieces(&v).map(cat)
    }

    /// [`Failure::reason_text`] as pieces to concatenate, `v` being the escaped detail.
    fn reason_pieces<'v>(&self, v: &'v str) -> Option<[&'v str; 5]> {
        use Reason::*;
        const VALID: &str = " Have the server send the header with a valid value.";
        let one = |a: &'static str| Some([a, "", "", "", ""]);
        let around = |a: &'static str, b: &'static str| Some([a, v, b, "", ""]);
        let around_valid = |a: &'static str, b: &'static str| Some([a, v, b, VALID, ""]);
        match self.reason {
            MissingAllowOriginHeader | PreflightMissingAllowOriginHeader => {
                one("No 'Access-Control-Allow-Origin' header is present on the requested resource.")
            }
            WildcardOriginNotAllowed | PreflightWildcardOriginNotAllowed => one("The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'."),
            MultipleAllowOriginValues | PreflightMultipleAllowOriginValues => around_valid(
                "The 'Access-Control-Allow-Origin' header contains multiple values '",
                "', but only one is allowed.",
            ),
            InvalidAllowOriginValue | PreflightInvalidAllowOriginValue => around_valid(
                "The 'Access-Control-Allow-Origin' header contains the invalid value '",
                "'.",
            ),
            AllowOriginMismatch | PreflightAllowOriginMismatch => around_valid(
                "The 'Access-Control-Allow-Origin' header has a value '",
                "' that is not equal to the supplied origin.",
            ),
            InvalidAllowCredentials | PreflightInvalidAllowCredentials => around(
                "The value of the 'Access-Control-Allow-Credentials' header in the response is '",
                "' which must be 'true' when the request's credentials mode is 'include'.",
            ),
            PreflightInvalidStatus => one("It does not have HTTP ok status."),
            PreflightDisallowedRedirect => one("Redirect is not allowed for a preflight request."),
            InvalidAllowMethodsPreflightResponse => one("Cannot parse Access-Control-Allow-Methods response header field in preflight response."),
            InvalidAllowHeadersPreflightResponse => one("Cannot parse Access-Control-Allow-Headers response header field in preflight response."),
            MethodDisallowedByPreflightResponse => around(
                "Method ",
                " is not allowed by Access-Control-Allow-Methods in preflight response.",
            ),
            HeaderDisallowedByPreflightResponse => around(
                "Request header field ",
                " is not allowed by Access-Control-Allow-Headers in preflight response.",
            ),
            // Chromium 156 prints the location empty (C19).
            RedirectContainsCredentials => one("Redirect location '' contains a username and password, which is disallowed for cross-origin requests."),
            DisallowedByMode => one("Cross origin requests are not allowed by request mode."),
            CorsDisabledScheme => one("Cross origin requests are only supported for protocol schemes: chrome, chrome-experimental-site-token-provider, chrome-extension, chrome-untrusted, data, http, https, isolated-app."),
            PreflightMissingAllowPrivateNetwork => around(
                "No 'Access-Control-Allow-Private-Network' header was present in the preflight response for this private network request targeting the `",
                "` address space.",
            ),
            PreflightInvalidAllowPrivateNetwork => {
                let (space, value) = v.split_once('\n').unwrap_or((v, ""));
                Some(["The 'Access-Control-Allow-Private-Network' header in the preflight response for this private network request targeting the `", space, "` address space had a value of '", value, "',  not 'true'."])
            }
            InsecurePrivateNetwork => around(
                "The request client is not a secure context and the resource is in more-private address space `",
                "`.",
            ),
            _ => None,
        }
    }

    /// Chromium's console message for a `fetch()` of `url` (the URL whose response failed)
    /// first requested as `initial_url`, from a page whose origin serializes as `origin`.
    ///
    /// ```
    /// use preflight::browser::{Failure, Reason};
    /// let f = Failure { reason: Reason::PreflightInvalidStatus, detail: String::new() };
    /// assert_eq!(
    ///     f.console_message("https://b.test/x", "https://b.test/x", "https://a.test", "GET"),
    ///     "Access to fetch at 'https://b.test/x' from origin 'https://a.test' has been blocked by CORS policy: Response to preflight request doesn't pass access control check: It does not have HTTP ok status."
    /// );
    /// ```
    pub fn console_message(
        &self,
        url: &str,
        initial_url: &str,
        origin: &str,
        method: &str,
    ) -> String {
        use Reason::*;
        if self.reason == DisallowedByMode {
            // fetch() rejects this in the renderer (Blink's FetchManager), with its own text
            // (observed with Chromium 156; no CDP corsError).
            return cat(["Fetch API cannot load ", url, ". Request mode is \"same-origin\" but the URL's origin is not same as the request origin ", origin, "."]);
        }
        let v = super::headers::escape_hint(&self.detail);
        match self.reason_pieces(&v) {
            Some([a, b, c, d, e]) => {
                let (r1, r2, r3) = if url != initial_url {
                    ("(redirected from '", initial_url, "') ")
                } else {
                    ("", "", "")
                };
                let prefix = if self.reason.has_preflight_prefix() {
                    "Response to preflight request doesn't pass access control check: "
                } else {
                    ""
                };
                cat([
                    "Access to fetch at '",
                    url,
                    "' ",
                    r1,
                    r2,
                    r3,
                    "from origin '",
                    origin,
                    "' has been blocked by CORS policy: ",
                    prefix,
                    a,
                    b,
                    c,
                    d,
                    e,
                ])
            }
            None => {
                const TE: &str = "TypeError: Failed to execute 'fetch' on 'Window': '";
                let d = self.detail.as_str();
                match self.reason {
                    InvalidMethod => cat([TE, d, "' is not a valid HTTP method."]),
                    ForbiddenMethod => cat([TE, d, "' HTTP method is unsupported."]),
                    InvalidHeader => {
                        "TypeError: Failed to execute 'fetch' on 'Window': Invalid name".to_string()
                    }
                    MethodUnsupportedInNoCors => cat([TE, d, "' is unsupported in no-cors mode."]),
                    GetOrHeadWithBody => "TypeError: Failed to execute 'fetch' on 'Window': Request with GET/HEAD method cannot have body.".to_string(),
                    // Blink's text, without a space before the quote.
                    StreamBodyNotCors => "TypeError: Failed to execute 'fetch' on 'Window': If request is made from ReadableStream, mode should be\"same-origin\" or \"cors\"".to_string(),
                                        OnlyIfCachedNotSameOrigin => "TypeError: Failed to execute 'fetch' on 'Window': 'only-if-cached' can be set only with 'same-origin' mode".to_string(),
                                        H2OrQuicRequired => cat([method, " ", url, " net::ERR_ALPN_NEGOTIATION_FAILED"]),
                    RedirectWithStreamBody => cat([method, " ", url, " net::ERR_UPLOAD_STREAM_REWIND_NOT_SUPPORTED"]),
                    TooManyRedirects => cat([method, " ", url, " net::ERR_TOO_MANY_REDIRECTS"]),
                    InvalidRedirect => cat([method, " ", url, " net::ERR_INVALID_REDIRECT"]),
                    UnsafeRedirect => cat([method, " ", url, " net::ERR_UNSAFE_REDIRECT"]),
                    PreflightNoResponse => cat(["OPTIONS ", url, " net::ERR_FAILED"]),
                    _ => cat(["TypeError: ", d]),
                }
            }
        }
    }

    /// A fix for the server owner: which header to send with which value.
    /// `origin` is the serialized origin the check used (`null` after a tainting redirect).
    pub fn fix(&self, origin: &str, method: &str, credentials: bool) -> String {
        use Reason::*;
        let acac = if credentials {
            " and `Access-Control-Allow-Credentials: true`"
        } else {
            ""
        };
        let d = self.detail.as_str();
        match self.reason {
            InvalidScenario => cat(["The scenario is not usable: ", d, "."]),
            InvalidMethod | ForbiddenMethod | InvalidHeader | MethodUnsupportedInNoCors
                        | GetOrHeadWithBody | StreamBodyNotCors | OnlyIfCachedNotSameOrigin => {
                "Nothing the server can do: the browser refuses this request before sending it. Change the page's fetch() call.".to_string()
            }
            DisallowedByMode => "The page asked for mode 'same-origin'; use mode 'cors' (the default) and have the server answer with CORS headers.".to_string(),
            CorsDisabledScheme => "Serve the resource over http or https; other schemes cannot be fetched cross-origin.".to_string(),
            MissingAllowOriginHeader => cat([
                "Send `Access-Control-Allow-Origin: ",
                origin,
                "`",
                acac,
                if credentials { "" } else { " (or `*` for public, cookie-less data)" },
                " on this response. If the response is an error (4xx/5xx), the error path must add the CORS headers too: many servers and proxies drop them on errors.",
            ]),
            PreflightMissingAllowOriginHeader => cat([
                "Answer the OPTIONS preflight with a 2xx status, `Access-Control-Allow-Origin: ",
                origin,
                "`",
                acac,
                ", and the `Access-Control-Allow-Methods`/`Access-Control-Allow-Headers` the request needs. If the preflight hits an auth or routing layer that returns 4xx/5xx, let OPTIONS through before it.",
            ]),
            WildcardOriginNotAllowed | PreflightWildcardOriginNotAllowed => cat([
                "The request carries credentials, so `*` is not allowed: echo the origin, `Access-Control-Allow-Origin: ",
                origin,
                "`, with `Access-Control-Allow-Credentials: true` (and `Vary: Origin`).",
            ]),
            MultipleAllowOriginValues | PreflightMultipleAllowOriginValues => cat([
                "Send exactly one `Access-Control-Allow-Origin` line with one value: `",
                origin,
                "` (it is currently `",
                d,
                "`; check that a proxy and the app do not both add it).",
            ]),
            InvalidAllowOriginValue | PreflightInvalidAllowOriginValue | AllowOriginMismatch
            | PreflightAllowOriginMismatch => cat([
                "Send `Access-Control-Allow-Origin: ",
                origin,
                "` exactly (byte for byte: scheme, host, non-default port, no trailing slash); it is currently `",
                d,
                "`.",
            ]),
            InvalidAllowCredentials | PreflightInvalidAllowCredentials => {
                "Send `Access-Control-Allow-Credentials: true` (lowercase, exactly one line) on this response, or have the page stop sending credentials.".to_string()
            }
            PreflightInvalidStatus => "Answer the OPTIONS preflight with a 2xx status (204 or 200). A 4xx/5xx usually means an auth, routing or method-not-allowed layer handles OPTIONS before the CORS layer.".to_string(),
            PreflightDisallowedRedirect => "Do not redirect the OPTIONS preflight: answer it at the requested URL (check trailing-slash and http→https redirects), or have the page call the final URL directly.".to_string(),
            PreflightNoResponse => "The server must answer the OPTIONS preflight.".to_string(),
            InvalidAllowMethodsPreflightResponse => cat([
                "`Access-Control-Allow-Methods` must be a comma-separated list of method tokens; `",
                d,
                "` is not one. Send e.g. `Access-Control-Allow-Methods: ",
                method,
                "`.",
            ]),
            InvalidAllowHeadersPreflightResponse => cat([
                "`Access-Control-Allow-Headers` must be a comma-separated list of header names; `",
                d,
                "` is not one.",
            ]),
            MethodDisallowedByPreflightResponse => cat([
                "Add `",
                d,
                "` to `Access-Control-Allow-Methods` on the preflight response (methods are case-sensitive",
                if credentials { "; `*` does not work for credentialed requests)." } else { ")." },
            ]),
            HeaderDisallowedByPreflightResponse => cat([
                "Add `",
                d,
                "` to `Access-Control-Allow-Headers` on the preflight response",
                if d.eq_ignore_ascii_case("authorization") {
                    " (`*` never covers Authorization per the Fetch standard; name it explicitly)."
                } else if credentials {
                    " (`*` does not work for credentialed requests)."
                } else {
                    "."
                },
            ]),
            RedirectContainsCredentials => cat(["Remove the `user:password@` part from the redirect's Location (`", d, "`)."]),
            InvalidRedirect => cat(["Send a valid URL in the redirect's Location (`", d, "`)."]),
            UnsafeRedirect => cat(["Redirect only to http or https URLs (`", d, "`)."]),
            TooManyRedirects => "The request was redirected more than 20 times: fix the redirect loop.".to_string(),
            PreflightMissingAllowPrivateNetwork | PreflightInvalidAllowPrivateNetwork => "Answer the preflight with `Access-Control-Allow-Private-Network: true` (legacy Private Network Access; newer Chromium uses Local Network Access permission prompts instead).".to_string(),
            InsecurePrivateNetwork => "Serve the page over https: private network requests need a secure context (legacy Private Network Access).".to_string(),
            H2OrQuicRequired => "Serve the API over HTTP/2 (https with h2) or HTTP/3: Chromium sends a ReadableStream request body only over HTTP/2 or QUIC, never over HTTP/1.1 or plain http. Or have the page send a Blob or ArrayBuffer instead of a stream.".to_string(),
            RedirectWithStreamBody => "Do not redirect a request whose body is a ReadableStream (the browser cannot send the stream twice): answer at the requested URL, use 303 to turn it into a GET, or have the page call the final URL.".to_string(),
        }
    }
}

impl serde::Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
