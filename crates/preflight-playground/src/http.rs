//! A deliberately small HTTP/1.1 layer. The API origin must answer with exactly the status
//! and header lines a scenario names (order, repeated names, no `Date`, no `Content-Length`:
//! a safelisted response header the scenario does not have would change what script can
//! read), which a general-purpose server does not allow; the page origin uses the same code.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Longest request head accepted.
const MAX_HEAD: u64 = 64 * 1024;
/// Largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// One parsed request.
#[derive(Debug)]
pub struct Request {
    /// The method, as sent.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// Header lines in order: names lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` framing only).
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The connection ended (or timed out) between requests.
    Closed,
    /// The request is malformed or too large: answer 400 and close.
    Bad(&'static str),
}

impl From<std::io::Error> for ReadError {
    fn from(_: std::io::Error) -> Self {
        ReadError::Closed
    }
}

/// Reads one request (head and `Content-Length` body).
pub async fn read_request<R: AsyncBufRead + Unpin>(rd: &mut R) -> Result<Request, ReadError> {
    let mut head = (&mut *rd).take(MAX_HEAD);
    let mut line = String::new();
    // Skip empty lines before the request line (RFC 9112 §2.2).
    loop {
        line.clear();
        if head.read_line(&mut line).await? == 0 {
            return Err(ReadError::Closed);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    if !line.ends_with('\n') {
        return Err(ReadError::Bad("request head too long"));
    }
    let mut parts = line.split_ascii_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    if method.is_empty() || !target.starts_with('/') {
        return Err(ReadError::Bad("malformed request line"));
    }
    let mut headers = Vec::new();
    loop {
        line.clear();
        if head.read_line(&mut line).await? == 0 || !line.ends_with('\n') {
            return Err(ReadError::Bad("request head too long or truncated"));
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut req = Request {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    if req.header("transfer-encoding").is_some() {
        return Err(ReadError::Bad("chunked request bodies are not supported"));
    }
    if let Some(len) = req.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| ReadError::Bad("bad Content-Length"))?;
        if len > MAX_BODY {
            return Err(ReadError::Bad("request body too large"));
        }
        let mut body = vec![0; len];
        rd.read_exact(&mut body).await?;
        req.body = body;
    }
    Ok(req)
}

/// The reason phrase for `status` (any text is valid; these are for readability).
fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

/// A status line and header lines, exactly as given, and the blank line.
pub fn head(status: u16, headers: &[(String, String)]) -> Vec<u8> {
    let mut b = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).into_bytes();
    for (k, v) in headers {
        b.extend_from_slice(k.as_bytes());
        b.extend_from_slice(b": ");
        b.extend_from_slice(v.as_bytes());
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(b"\r\n");
    b
}

/// A complete response with `Content-Length` framing (page-origin routes).
pub fn response(status: u16, content_type: &str, extra: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut h: Vec<(String, String)> = vec![
        ("Content-Type".into(), content_type.into()),
        ("Content-Length".into(), body.len().to_string()),
        ("Cache-Control".into(), "no-store".into()),
        ("X-Content-Type-Options".into(), "nosniff".into()),
        ("Referrer-Policy".into(), "no-referrer".into()),
    ];
    h.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut b = head(status, &h);
    b.extend_from_slice(body);
    b
}

/// A JSON response.
pub fn json(status: u16, v: &serde_json::Value) -> Vec<u8> {
    response(
        status,
        "application/json",
        &[],
        serde_json::to_string(v).unwrap_or_default().as_bytes(),
    )
}

/// A JSON error `{"error": msg}`.
pub fn error(status: u16, msg: &str) -> Vec<u8> {
    json(status, &serde_json::json!({ "error": msg }))
}

/// Whether `name` is an HTTP token (a valid header name or method).
pub fn is_token(name: &str) -> bool {
    preflight::browser::headers::is_token(name)
}

/// Whether `value` can go on a header line as is (no CR, LF or NUL).
pub fn is_line_safe(value: &str) -> bool {
    !value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_a_request_with_body() {
        let raw =
            b"\r\nPOST /api/x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nX-A:  b \r\n\r\nabcGET";
        let mut rd = tokio::io::BufReader::new(&raw[..]);
        let r = read_request(&mut rd).await.unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path(), "/api/x");
        assert_eq!(r.header("x-a"), Some("b"));
        assert_eq!(r.body, b"abc");
        assert!(matches!(
            read_request(&mut rd).await,
            Err(ReadError::Bad(_))
        ));
    }

    #[tokio::test]
    async fn rejects_bad_input() {
        for raw in [
            &b"GET\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        ] {
            let mut rd = tokio::io::BufReader::new(raw);
            assert!(matches!(
                read_request(&mut rd).await,
                Err(ReadError::Bad(_))
            ));
        }
        let long = vec![b'a'; 70_000];
        let mut rd = tokio::io::BufReader::new(&long[..]);
        assert!(read_request(&mut rd).await.is_err());
    }

    #[test]
    fn tokens_and_lines() {
        assert!(is_token("X-Api-Key"));
        assert!(!is_token("a b"));
        assert!(!is_token(""));
        assert!(is_line_safe("a, b"));
        assert!(!is_line_safe("a\r\nSet-Cookie: x"));
    }
}
