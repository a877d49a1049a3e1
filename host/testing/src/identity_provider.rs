//! A stand-in for the identity services a host in the cloud gets its tokens from, serving the
//! two real protocols the official `azure_identity` crate speaks:
//!
//! - the **managed identity endpoint** of App Service, Container Apps and Functions
//!   (`GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=…[&client_id=…]` with the
//!   `X-IDENTITY-HEADER` secret), on plain HTTP as the platform serves it;
//! - the **Microsoft Entra token endpoint** (`POST {authority}/{tenant}/oauth2/v2.0/token`,
//!   client credentials with a client secret or a federated client assertion, as workload
//!   identity sends), over HTTPS with a [`TestCertificate`], since the crate refuses anything
//!   else.
//!
//! Tokens are JWTs with the claims Azurite's OAuth mode checks (audience, issuer, lifetime);
//! their lifetime is set by the test, so it can watch a host renew them. The provider can be
//! told to refuse, and it records every token request. Like the fault proxy, it runs on a
//! thread of its own with its own Tokio runtime.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::tls::TestCertificate;

/// The tenant the provider issues tokens for.
pub const TENANT: &str = "7c5d4c8a-3f7e-4f6b-9b1d-2f0a1e6c9d11";

/// One token request the provider received.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The request path, without the query.
    pub path: String,
    /// Query parameters.
    pub query: HashMap<String, String>,
    /// Headers, names in lower case.
    pub headers: HashMap<String, String>,
    /// Form fields of a `POST`.
    pub form: HashMap<String, String>,
    /// Whether a token was issued.
    pub granted: bool,
}

/// What the provider answers.
#[derive(Debug, Clone)]
enum Answer {
    Grant { lifetime: Duration },
    Refuse { status: u16, body: String },
}

struct State {
    answer: Answer,
    requests: Vec<TokenRequest>,
    issued: u64,
}

/// A running identity provider; dropping it stops it.
pub struct IdentityProvider {
    addr: SocketAddr,
    https: bool,
    secret: String,
    state: Arc<Mutex<State>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl IdentityProvider {
    /// Starts a provider on `127.0.0.1` on a free port: over HTTPS with `tls`, else plain
    /// HTTP. It grants tokens living an hour until told otherwise.
    pub fn start(tls: Option<&TestCertificate>) -> io::Result<IdentityProvider> {
        let tls = tls.map(|c| c.server_config()).transpose()?;
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let secret = format!("identity-header-{}", uuid::Uuid::new_v4());
        let state = Arc::new(Mutex::new(State {
            answer: Answer::Grant {
                lifetime: Duration::from_secs(3600),
            },
            requests: Vec::new(),
            issued: 0,
        }));
        let (stop, stopped) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let serving = Arc::clone(&state);
        let header_secret = secret.clone();
        let https = tls.is_some();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("a tokio listener");
                let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let state = Arc::clone(&serving);
                        let secret = header_secret.clone();
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            match acceptor {
                                Some(acceptor) => {
                                    if let Ok(tls) = acceptor.accept(stream).await {
                                        serve(tls, &state, &secret).await;
                                    }
                                }
                                None => serve(stream, &state, &secret).await,
                            }
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        });
        Ok(IdentityProvider {
            addr,
            https,
            secret,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The managed identity endpoint, for `IDENTITY_ENDPOINT`.
    pub fn managed_identity_endpoint(&self) -> String {
        format!("{}/msi/token", self.base())
    }

    /// The secret the managed identity endpoint wants, for `IDENTITY_HEADER`.
    pub fn identity_header(&self) -> &str {
        &self.secret
    }

    /// The authority host, for `AZURE_AUTHORITY_HOST` (HTTPS providers only).
    pub fn authority_host(&self) -> String {
        format!("{}/", self.base())
    }

    fn base(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// From now on, grant tokens that expire `lifetime` after they are issued.
    pub fn grant(&self, lifetime: Duration) {
        self.state.lock().expect("provider state").answer = Answer::Grant { lifetime };
    }

    /// From now on, refuse every request with `status` and an error body carrying `message`
    /// (in the shape the endpoints use for errors).
    pub fn refuse(&self, status: u16, message: &str) {
        let body = serde_json::json!({
            "error": "invalid_request",
            "error_description": message,
            "statusCode": status,
            "message": message,
        })
        .to_string();
        self.state.lock().expect("provider state").answer = Answer::Refuse { status, body };
    }

    /// Every token request so far, oldest first.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.state.lock().expect("provider state").requests.clone()
    }

    /// How many tokens were issued.
    pub fn issued(&self) -> u64 {
        self.state.lock().expect("provider state").issued
    }
}

impl Drop for IdentityProvider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers the requests of one connection (HTTP/1.1, kept alive until the client closes).
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    state: &Mutex<State>,
    secret: &str,
) {
    let mut buffer = Vec::new();
    loop {
        let Some((head, body)) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        let (status, answer) = answer(&head, &body, state, secret);
        let response = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
            if status == 200 { "OK" } else { "Error" },
            answer.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Reads one request: its head (request line and headers) and body.
async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
) -> Option<(String, Vec<u8>)> {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + 4 + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[head_end + 4..head_end + 4 + length].to_vec();
    buffer.drain(..head_end + 4 + length);
    Some((head, body))
}

/// The status and JSON body for one request, recorded in `state`.
fn answer(head: &str, body: &[u8], state: &Mutex<State>, secret: &str) -> (u16, String) {
    let mut lines = head.lines();
    let target = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut request = TokenRequest {
        path: path.to_owned(),
        query: form(query.as_bytes()),
        headers,
        form: form(body),
        granted: false,
    };
    let mut state = state.lock().expect("provider state");
    let managed = path == "/msi/token";
    let entra = path.ends_with("/oauth2/v2.0/token");
    let (status, json) = match state.answer.clone() {
        _ if !managed && !entra => (404, r#"{"error":"not_found"}"#.to_owned()),
        _ if managed
            && request.headers.get("x-identity-header").map(String::as_str) != Some(secret) =>
        {
            (
                401,
                r#"{"statusCode":401,"message":"X-IDENTITY-HEADER is missing or wrong"}"#
                    .to_owned(),
            )
        }
        Answer::Refuse { status, body } => (status, body),
        Answer::Grant { lifetime } => {
            let client = request
                .query
                .get("client_id")
                .or_else(|| request.form.get("client_id"))
                .cloned()
                .unwrap_or_else(|| "system-assigned".to_owned());
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            let expires = now + lifetime.as_secs();
            let token = jwt(&client, now, expires);
            state.issued += 1;
            request.granted = true;
            let json = if managed {
                serde_json::json!({
                    "access_token": token,
                    "expires_on": expires.to_string(),
                    "resource": request.query.get("resource"),
                    "token_type": "Bearer",
                    "client_id": client,
                })
            } else {
                serde_json::json!({
                    "token_type": "Bearer",
                    "expires_in": lifetime.as_secs(),
                    "ext_expires_in": lifetime.as_secs(),
                    "access_token": token,
                })
            };
            (200, json.to_string())
        }
    };
    state.requests.push(request);
    (status, json)
}

/// An unsigned JWT with the claims storage checks. Azurite's OAuth mode checks the audience,
/// issuer and lifetime, not the signature; Azure Storage would refuse it.
fn jwt(client: &str, now: u64, expires: u64) -> String {
    let encode = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    let header = encode(serde_json::json!({"typ": "JWT", "alg": "RS256"}));
    let claims = encode(serde_json::json!({
        "aud": "https://storage.azure.com",
        "iss": format!("https://sts.windows.net/{TENANT}/"),
        "iat": now,
        "nbf": now.saturating_sub(60),
        "exp": expires,
        "appid": client,
        "oid": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, client.as_bytes()).to_string(),
        "tid": TENANT,
        "jti": uuid::Uuid::new_v4().to_string(),
    }));
    format!("{header}.{claims}.c2lnbmF0dXJl")
}

/// `a=b&c=d`, percent-decoded.
fn form(text: &[u8]) -> HashMap<String, String> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(text)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}
