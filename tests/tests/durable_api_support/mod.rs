//! Shared by the management-API end-to-end tests: runs the `api-test-app` host binary in a
//! temporary directory and talks HTTP/1.1 to it over a plain TCP socket (so requests go out
//! exactly as written, unencoded characters included).

#![allow(dead_code)] // each test crate uses a different part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The webhook prefix.
pub const WEBHOOK: &str = "/runtime/webhooks/durabletask";

/// A running `api-test-app`.
pub struct App {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl App {
    /// Starts the host with `--port 0` in a fresh directory and waits for its banner line.
    pub fn start() -> App {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("local.settings.json"),
            r#"{"IsEncrypted": false, "Values": {"AzureWebJobsStorage": "", "TaskHubName": "ApiTestHub"}}"#,
        )
        .expect("write local.settings.json");
        let stderr = std::fs::File::create(dir.path().join("host.log")).expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_api-test-app"))
            .args(["--port", "0"])
            .current_dir(dir.path())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn api-test-app");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.trim().strip_prefix("Listening on http://") {
                    let port = rest.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                    let _ = tx.send(port);
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(port)) => port,
            other => {
                let _ = child.kill();
                let log = std::fs::read_to_string(dir.path().join("host.log")).unwrap_or_default();
                panic!(
                    "the host printed no usable 'Listening on' line ({other:?}); its log:\n{log}"
                );
            }
        };
        App { child, port, dir }
    }

    /// The app's working directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The rpcBaseUrl the Python client is given.
    pub fn rpc_base_url(&self) -> String {
        format!("{}{WEBHOOK}/", self.origin())
    }

    /// The host's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("host.log")).unwrap_or_default()
    }

    /// One request to `WEBHOOK + target`.
    pub fn api(&self, method: &str, target: &str) -> Request<'_> {
        Request {
            app: self,
            method: method.to_string(),
            target: format!("{WEBHOOK}{target}"),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Polls the status until `pred` holds (30 s at most).
    pub fn wait_status(&self, id: &str, pred: impl Fn(&str) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let resp = self.api("GET", &format!("/instances/{id}")).send();
            if resp.status != 404 {
                let body = resp.json();
                if pred(body["runtimeStatus"].as_str().unwrap_or("")) {
                    return body;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{id} never reached the expected status; last: {resp:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until the instance is Completed, Failed, Terminated or Canceled.
    pub fn wait_done(&self, id: &str) -> Value {
        self.wait_status(id, |s| {
            matches!(s, "Completed" | "Failed" | "Terminated" | "Canceled")
        })
    }

    /// A path to a file in the app directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request being built.
pub struct Request<'a> {
    app: &'a App,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request<'_> {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// A body with `Content-Type: application/json`.
    pub fn json(self, body: &str) -> Self {
        self.body_with("application/json", body)
    }

    /// A body with a content type.
    pub fn body_with(mut self, content_type: &str, body: &str) -> Self {
        self.headers
            .push(("Content-Type".into(), content_type.to_string()));
        self.body = body.as_bytes().to_vec();
        self
    }

    /// Sends it and reads the whole response.
    pub fn send(self) -> Response {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.app.port)).expect("connect to the host");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .expect("timeout");
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.method,
            self.target,
            self.app.port,
            self.body.len()
        );
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("write head");
        stream.write_all(&self.body).expect("write body");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read response");
        Response::parse(&raw)
    }
}

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    fn parse(raw: &[u8]) -> Response {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        if chunked {
            body = dechunk(&body);
        }
        Response {
            status,
            headers,
            body,
        }
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts the body is empty or JSON with a JSON content type.
    pub fn assert_empty_or_json(&self) {
        if !self.body.is_empty() {
            self.json();
            let ct = self.header("content-type").unwrap_or_default();
            assert!(ct.starts_with("application/json"), "content type {ct:?}");
        }
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&body[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
}
