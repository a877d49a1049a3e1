//! Runs a function-app binary (the sample app or a test app) in a temporary app directory
//! and talks HTTP/1.1 to it over a plain TCP socket (so tests control every byte they send).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Settings a developer's or CI's environment might carry that would change what a test sees.
const SCRUBBED: &[&str] = &[
    "AzureWebJobsStorage",
    "DurableLogFormat",
    "DurableDrainDelay",
    "DurableDataDir",
    "DurableMasterKey",
    "DurableFunctionKey",
    "DurableSystemKey",
    "TaskHubName",
    "FUNCTIONS_HTTP_PORT",
    "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT",
    "DurableLocalDevelopment",
    "DurableReplayCheck",
    "DurableBindAddress",
    "DurableShutdownDeadline",
    "AzureFunctionsJobHost__extensions__durableTask__hubName",
];

/// The port of the banner's last line, `Listening on http://ADDR:PORT`, printed as text or,
/// with JSON logs, as the `message` of a JSON object.
fn listening_port(line: &str) -> Option<u16> {
    const PREFIX: &str = "Listening on http://";
    let message = match serde_json::from_str::<Value>(line) {
        Ok(object) => object["message"].as_str()?.to_owned(),
        Err(_) => line.to_owned(),
    };
    let addr = message.strip_prefix(PREFIX)?;
    addr.rsplit(':').next()?.parse().ok()
}

/// Starts a host in each of `dirs`; each slot can be emptied (`take`) to kill one.
pub fn start_hosts(dirs: &[AppDir]) -> Vec<Option<TestHost>> {
    dirs.iter().map(|d| Some(TestHost::start(d, &[]))).collect()
}

/// The logs of the hosts still in `hosts`, each under its process id.
pub fn logs_of(hosts: &[Option<TestHost>]) -> String {
    hosts
        .iter()
        .flatten()
        .map(|h| format!("--- host {}:\n{}", h.pid(), h.log()))
        .collect()
}

/// A temporary app directory with its configuration files, for one app binary.
pub struct AppDir {
    dir: tempfile::TempDir,
    binary: PathBuf,
}

impl AppDir {
    /// Writes `local.settings.json` with these `Values` (plus a loopback bind address) and,
    /// if given, `host.json`.
    pub fn new(binary: impl Into<PathBuf>, values: Value, host_json: Option<Value>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut values = values;
        values
            .as_object_mut()
            .expect("Values is an object")
            .entry("DurableBindAddress")
            .or_insert_with(|| "127.0.0.1".into());
        let local = serde_json::json!({ "IsEncrypted": false, "Values": values });
        std::fs::write(
            dir.path().join("local.settings.json"),
            serde_json::to_vec_pretty(&local).unwrap(),
        )
        .unwrap();
        if let Some(h) = host_json {
            std::fs::write(
                dir.path().join("host.json"),
                serde_json::to_vec_pretty(&h).unwrap(),
            )
            .unwrap();
        }
        Self {
            dir,
            binary: binary.into(),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file into the directory.
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).unwrap();
    }

    /// The generated keys.
    pub fn secrets(&self) -> Value {
        let text = std::fs::read_to_string(self.path().join(".durable/secrets.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The master key.
    pub fn master_key(&self) -> String {
        self.secrets()["masterKey"].as_str().unwrap().to_string()
    }

    /// The default function key.
    pub fn function_key(&self) -> String {
        self.secrets()["functionKeys"]["default"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The durabletask system key.
    pub fn system_key(&self) -> String {
        self.secrets()["systemKeys"]["durabletask_extension"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Runs the app to completion with these arguments and extra environment.
    pub fn run_to_exit(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = command(&self.binary, self.path(), args, env);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = cmd.spawn().expect("the test app starts");
        wait_output(child, Duration::from_secs(60))
    }
}

fn command(binary: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(binary);
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    for name in SCRUBBED {
        cmd.env_remove(name);
    }
    cmd.env("RUST_LOG", "info");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn wait_output(mut child: Child, limit: Duration) -> std::process::Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().ok();
            panic!("the test app did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// A running host process.
pub struct TestHost {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// Everything it printed up to and including the `Listening on` line.
    pub banner: String,
    lines: mpsc::Receiver<String>,
    log: PathBuf,
}

impl TestHost {
    /// Starts the app in `dir` with `--port 0` and waits until it listens.
    pub fn start(dir: &AppDir, env: &[(&str, &str)]) -> Self {
        let log = dir
            .path()
            .join(format!("host-{}.log", rand::random::<u32>()));
        let mut cmd = command(&dir.binary, dir.path(), &["--port", "0"], env);
        cmd.stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = cmd.spawn().expect("the test app starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut host = TestHost {
            child,
            port: 0,
            banner: String::new(),
            lines,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match host.lines.recv_timeout(left) {
                Ok(line) => {
                    host.banner.push_str(&line);
                    host.banner.push('\n');
                    if let Some(port) = listening_port(&line) {
                        host.port = port;
                        return host;
                    }
                }
                Err(_) => panic!(
                    "the host did not start; stdout:\n{}\nlog:\n{}",
                    host.banner,
                    host.log()
                ),
            }
        }
    }

    /// The host's log (stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stdout line containing `text` (lines printed before the banner ended
    /// count too).
    pub fn wait_for_line(&self, text: &str, limit: Duration) -> String {
        if let Some(line) = self.banner.lines().find(|l| l.contains(text)) {
            return line.to_string();
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => panic!(
                    "no line with {text:?} within {limit:?}; log:\n{}",
                    self.log()
                ),
            }
        }
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with the pid of a child this test spawned and still owns.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    /// Waits for the process to exit (panics with its log after `limit`).
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if started.elapsed() > limit {
                panic!(
                    "the host did not exit within {limit:?}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the host with SIGTERM and checks that it exits cleanly.
    pub fn stop(mut self) {
        self.signal(libc::SIGTERM);
        let status = self.wait_exit(Duration::from_secs(30));
        assert!(
            status.success(),
            "exit status {status:?}; log:\n{}",
            self.log()
        );
    }

    /// Sends a request and reads the whole response.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        send(self.port, method, path, headers, Body::Sized(body))
    }

    /// Sends a request with a chunked body.
    pub fn request_chunked(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        send(self.port, method, path, headers, Body::Chunked(body))
    }

    /// A request to build up and send.
    pub fn call(&self, method: &str, target: &str) -> Request {
        Request {
            port: self.port,
            method: method.to_string(),
            target: target.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    /// Polls the management API (with `key`, if any) until instance `id` has `status`;
    /// returns its status JSON. Fails with the host's log after 30 s.
    pub fn wait_for_status(&self, id: &str, status: &str, key: Option<&str>) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut call = self.call(
                "GET",
                &format!("/runtime/webhooks/durabletask/instances/{id}"),
            );
            if let Some(key) = key {
                call = call.header("x-functions-key", key);
            }
            let r = call.send();
            // 202 while it runs, 200 once it has ended.
            if matches!(r.status, 200 | 202) && r.json()["runtimeStatus"] == status {
                return r.json();
            }
            assert!(
                Instant::now() < deadline,
                "{id} is not {status}: {} {}\n{}",
                r.status,
                String::from_utf8_lossy(&r.body),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

/// `GET path` on a port (for threads that do not own the [`TestHost`]).
pub fn get(port: u16, path: &str) -> Response {
    send(port, "GET", path, &[], Body::Sized(b""))
}

enum Body<'a> {
    Sized(&'a [u8]),
    Chunked(&'a [u8]),
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower-cased) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts that the body is empty or JSON with a JSON content type.
    pub fn assert_empty_or_json(&self) {
        if !self.body.is_empty() {
            self.json();
            let ct = self.header("content-type").unwrap_or_default();
            assert!(ct.starts_with("application/json"), "content type {ct:?}");
        }
    }

    /// Asserts a JSON error body `{"Message": "..."}` and returns the message.
    pub fn error_message(&self) -> String {
        assert!(
            self.header("content-type")
                .unwrap_or_default()
                .starts_with("application/json"),
            "not a JSON error: {self:?}"
        );
        self.json()["Message"]
            .as_str()
            .unwrap_or_else(|| panic!("no Message in {self:?}"))
            .to_string()
    }
}

fn send(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: Body<'_>) -> Response {
    try_send(port, method, path, headers, body).expect("a response from the host")
}

/// A request to the host on `port`, to build up and send (usable from any thread).
pub fn request_to(port: u16, method: &str, target: &str) -> Request {
    Request {
        port,
        method: method.to_string(),
        target: target.to_string(),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

/// `method path` without a body; an error when the host cannot be reached or closes the
/// connection without a response (a host that exits or is killed meanwhile).
pub fn try_request(port: u16, method: &str, path: &str) -> std::io::Result<Response> {
    try_send(port, method, path, &[], Body::Sized(b""))
}

fn try_send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Body<'_>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let mut bytes = Vec::new();
    match body {
        Body::Sized(b) => {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", b.len()));
            bytes.extend_from_slice(head.as_bytes());
            bytes.extend_from_slice(b);
        }
        Body::Chunked(b) => {
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
            bytes.extend_from_slice(head.as_bytes());
            for chunk in b.chunks(256) {
                bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                bytes.extend_from_slice(chunk);
                bytes.extend_from_slice(b"\r\n");
            }
            bytes.extend_from_slice(b"0\r\n\r\n");
        }
    }
    stream.write_all(&bytes)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the connection closed without a response",
        ));
    }
    Ok(parse_response(&raw))
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
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
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Response {
        status,
        headers,
        body,
    }
}

/// A request being built: headers and a body, then [`Request::send`].
pub struct Request {
    port: u16,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// A JSON body (sent as given).
    pub fn json(self, body: &str) -> Self {
        self.body_with("application/json", body)
    }

    /// A body with a content type.
    pub fn body_with(self, content_type: &str, body: &str) -> Self {
        self.bytes_with(content_type, body.as_bytes())
    }

    /// A body of raw bytes (which need not be UTF-8) with a content type.
    pub fn bytes_with(mut self, content_type: &str, body: &[u8]) -> Self {
        self.headers
            .push(("Content-Type".into(), content_type.to_string()));
        self.body = body.to_vec();
        self
    }

    /// Sends it and reads the whole response.
    pub fn send(self) -> Response {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        send(
            self.port,
            &self.method,
            &self.target,
            &headers,
            Body::Sized(&self.body),
        )
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
