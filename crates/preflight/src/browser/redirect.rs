//! Redirects ("HTTP-redirect fetch", R46–R52) and the redirect-taint of the request origin.

use url::Url;

use super::headers::{get, Header};
use super::reason::{Failure, Reason};
use std::borrow::Cow;

use super::fast_url::{Loc, Tuple};
use super::request::{redirect_makes_get, PreparedRequest, Redirectable};
use super::{Behavior, RequestMode};
use crate::Origin;

/// The state a fetch carries across redirects: the page's origin, the URL list, the redirect
/// count, the redirect-taint and whether response tainting has become `cors`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectState {
    /// The request's origin (the page's).
    pub origin: Origin,
    /// The URL list; the last one is the current URL.
    pub url_list: Vec<Url>,
    /// How many redirects were followed.
    pub redirect_count: u8,
    /// Whether the redirect-taint is not `same-origin` (R51): the origin then serializes as
    /// `null`.
    pub tainted: bool,
    /// Whether response tainting is `cors` (set by main fetch on the first cross-origin hop).
    pub cors_tainting: bool,
    /// The request mode.
    pub mode: RequestMode,
}

impl RedirectState {
    /// A fresh state for a request from `origin` to `url`.
    pub fn new(origin: Origin, url: Url, mode: RequestMode) -> Self {
        RedirectState {
            origin,
            url_list: vec![url],
            redirect_count: 0,
            tainted: false,
            cors_tainting: false,
            mode,
        }
    }

    /// The current URL.
    pub fn current_url(&self) -> Option<&Url> {
        self.url_list.last()
    }

    /// "Byte-serializing a request origin" (R45): `null` once tainted.
    pub fn serialized_origin(&self) -> &str {
        if self.tainted {
            "null"
        } else {
            self.origin.as_str()
        }
    }
}

/// Handles a redirect response whose CORS check (R46) already passed: returns `Ok(None)` when
/// it has no `Location` (it is then the final response), or the URL to fetch next after
/// applying R47–R51 to `state` and `request` (method change, `Authorization` removal,
/// redirect-taint). The caller then runs main fetch again, which may preflight again (R52).
///
/// # Errors
/// Unparsable `Location`, non-http(s) target, a 21st redirect, userinfo in the `Location`.
///
/// ```
/// use preflight::browser::*;
/// use preflight::Origin;
/// let origin: Origin = "https://a.test".parse().unwrap();
/// let mut st = RedirectState::new(origin, url::Url::parse("https://b.test/x").unwrap(), RequestMode::Cors);
/// st.cors_tainting = true;
/// let h: Vec<(String, String)> = vec![];
/// let mut req = prepare(&RequestInit { method: "GET", headers: &h,
///     credentials: CredentialsMode::Omit, mode: RequestMode::Cors, body: None, cache: None },
///     Behavior::Spec).unwrap();
/// let loc = vec![("Location".to_string(), "https://c.test/y".to_string())];
/// let next = follow_redirect(&mut st, &mut req, 302, &loc).unwrap().unwrap();
/// assert_eq!(next.as_str(), "https://c.test/y");
/// assert_eq!(st.serialized_origin(), "null");
/// ```
pub fn follow_redirect(
    state: &mut RedirectState,
    request: &mut PreparedRequest,
    status: u16,
    headers: &[Header],
) -> Result<Option<Url>, Failure> {
    let Some(current) = state.current_url().cloned() else {
        return Ok(None);
    };
    let mut hop = Hop {
        redirect_count: state.redirect_count,
        tainted: state.tainted,
        cors_tainting: state.cors_tainting,
        mode: state.mode,
    };
    let r = redirect_step(
        state.origin.tuple(),
        &Loc::Parsed(current),
        &mut hop,
        request,
        status,
        get(headers, "location"),
    );
    state.redirect_count = hop.redirect_count;
    state.tainted = hop.tainted;
    let next = match r? {
        None => return Ok(None),
        Some(next) => next,
    };
    let next = match next {
        Loc::Parsed(u) => u,
        // Recognized: parses to exactly its input.
        Loc::Canon(p) => Url::parse(p.s).map_err(|_| Failure::new(Reason::InvalidRedirect, p.s))?,
    };
    state.url_list.push(next.clone());
    Ok(Some(next))
}

/// The part of [`RedirectState`] a redirect reads and changes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hop {
    pub redirect_count: u8,
    pub tainted: bool,
    pub cors_tainting: bool,
    pub mode: RequestMode,
}

/// [`follow_redirect`] for a request from the page origin `page` (`None`: opaque) at
/// `current`, given the redirect's `Location` value (`None`: absent).
pub(crate) fn redirect_step<'s>(
    page: Option<Tuple<'_>>,
    current: &Loc<'s>,
    hop: &mut Hop,
    request: &mut impl Redirectable,
    status: u16,
    location: Option<Cow<'s, str>>,
) -> Result<Option<Loc<'s>>, Failure> {
    // Step 3–5: location URL, relative to the current URL; the fragment is inherited.
    let Some(location) = location else {
        return Ok(None);
    };
    let next = match current.join(location.clone()) {
        Ok(n) => n,
        Err(_) => return Err(Failure::new(Reason::InvalidRedirect, location.as_ref())),
    };
    // Step 6.
    if next.scheme() != "http" && next.scheme() != "https" {
        return Err(Failure::new(Reason::UnsafeRedirect, next.as_str()));
    }
    // Step 7–8: the 21st redirect fails.
    if hop.redirect_count >= 20 {
        return Err(Failure::new(Reason::TooManyRedirects, next.as_str()));
    }
    hop.redirect_count += 1;
    let has_userinfo = next.has_userinfo();
    // Step 9: cors mode, userinfo, and the request's origin is not same origin with it.
    if hop.mode == RequestMode::Cors && has_userinfo && !next.same_origin_with(page) {
        return Err(Failure::new(
            Reason::RedirectContainsCredentials,
            next.as_str(),
        ));
    }
    // Step 10: tainting cors and userinfo.
    if hop.cors_tainting && has_userinfo {
        return Err(Failure::new(
            Reason::RedirectContainsCredentials,
            next.as_str(),
        ));
    }
    // Step 11: a body that cannot be sent again (a `ReadableStream`) fails any redirect but
    // a 303. Chromium (over HTTP/2; over HTTP/1.1 the stream never leaves) fails when the body
    // would be re-sent (`net::ERR_UPLOAD_STREAM_REWIND_NOT_SUPPORTED`), so it also follows a
    // 301/302 that turns a POST into a GET (inferred from `net/`, not observed).
    if request.has_stream_body() {
        let resent = match request.behavior() {
            Behavior::Spec => status != 303,
            Behavior::Chromium => !redirect_makes_get(status, request.method()),
        };
        if resent {
            return Err(Failure::new(Reason::RedirectWithStreamBody, next.as_str()));
        }
    }
    // Step 12 (R49).
    request.apply_redirect_method_change(status);
    // Step 14 (R50): another origin → drop Authorization.
    let same = current.same_origin(&next);
    if !same {
        request.remove_authorization();
    }
    // R51: redirect-taint over the URL list.
    if !same && !current.same_origin_with(page) {
        hop.tainted = true;
    }
    Ok(Some(next))
}
