//! Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
//! commands on fd 3, replies and events on fd 4, each message NUL-terminated). No websocket,
//! no driver binary, no extra crates: `sh` wires the child's stdin/stdout to fds 3/4.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The launch flags (research note §2), besides the profile directory and the pipe.
pub const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
];

/// A running Chromium and its DevTools pipe.
pub struct Browser {
    child: Child,
    input: ChildStdin,
    rx: Receiver<Value>,
    next_id: u64,
    /// Events received while waiting for replies, in order.
    pub events: Vec<Value>,
    profile: std::path::PathBuf,
}

impl Browser {
    /// Starts `chromium` with [`FLAGS`], a fresh profile and `host_rules`
    /// (`--host-resolver-rules`).
    pub fn launch(chromium: &str, host_rules: &str) -> Result<Browser, String> {
        let profile = std::env::temp_dir().join(format!(
            "preflight-conformance-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&profile)
            .map_err(|e| format!("cannot create profile dir {}: {e}", profile.display()))?;
        let mut args: Vec<String> = FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!("--host-resolver-rules={host_rules}"));
        args.push("--remote-debugging-pipe".into());
        args.push("about:blank".into());
        // fd 3 <- our stdin pipe, fd 4 -> our stdout pipe; the browser's own stdio is quiet.
        let script = "exec \"$0\" \"$@\" 3<&0 4>&1 0</dev/null 1>/dev/null 2>/dev/null";
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(chromium)
            .args(&args)
            .env("TMPDIR", &profile)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {chromium}: {e}"))?;
        let input = child.stdin.take().ok_or("no stdin pipe")?;
        let output = child.stdout.take().ok_or("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut rd = BufReader::new(output);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match rd.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if buf.last() == Some(&0) {
                            buf.pop();
                        }
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                            if tx.send(v).is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        Ok(Browser {
            child,
            input,
            rx,
            next_id: 0,
            events: Vec::new(),
            profile,
        })
    }

    /// Sends `method` (on `session` if given) and waits up to `timeout` for its reply.
    pub fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).map_err(|e| e.to_string())?;
        bytes.push(0);
        self.input
            .write_all(&bytes)
            .and_then(|_| self.input.flush())
            .map_err(|e| format!("DevTools pipe closed ({method}): {e}"))?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(v) if v.get("id").and_then(Value::as_u64) == Some(id) => {
                    if let Some(err) = v.get("error") {
                        return Err(format!("{method}: {err}"));
                    }
                    return Ok(v.get("result").cloned().unwrap_or(Value::Null));
                }
                Ok(v) => {
                    if v.get("method").is_some() {
                        self.events.push(v);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("{method}: no reply within {timeout:?}"))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("{method}: Chromium exited"))
                }
            }
        }
    }

    /// Collects events for `d`.
    pub fn drain(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Ok(v) = self
            .rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
    }

    /// Waits until an event named `name` (on `session`) arrives, for at most `timeout`.
    pub fn wait_event(&mut self, session: &str, name: &str, timeout: Duration) -> bool {
        let seen = |v: &Value| {
            v.get("method").and_then(Value::as_str) == Some(name)
                && v.get("sessionId").and_then(Value::as_str) == Some(session)
        };
        if let Some(pos) = self.events.iter().position(seen) {
            self.events.remove(pos);
            return true;
        }
        let deadline = Instant::now() + timeout;
        while let Ok(v) = self
            .rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if seen(&v) {
                return true;
            }
            if v.get("method").is_some() {
                self.events.push(v);
            }
        }
        false
    }

    /// Closes the browser and deletes its profile.
    pub fn close(mut self) {
        let _ = self.call(None, "Browser.close", json!({}), Duration::from_secs(5));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
