//! A small HTTPS client for talking to a node: the server's certificate pinned, the caller's
//! node certificate presented when given. Used by `enlace` to reach peers, and by tests.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;

use crate::config::validate_url;
use crate::identity::{Fingerprint, NodeIdentity};

/// The largest response body read.
const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// Errors reaching a node. They name the URL, never a body or a token.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Url(String),
    #[error("connecting to {url}: {source}")]
    Connect { url: String, source: std::io::Error },
    #[error("TLS with {url}: {message}")]
    Tls { url: String, message: String },
    #[error("HTTP with {url}: {message}")]
    Http { url: String, message: String },
    #[error("{url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
}

/// One request.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: hyper::Method,
    /// Path and query, starting with `/`.
    pub path: String,
    /// A session token, sent as `Authorization: Bearer`.
    pub bearer: Option<String>,
    pub content_type: Option<String>,
    /// Other headers, name and value.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn get(path: &str) -> Self {
        Request {
            method: hyper::Method::GET,
            path: path.to_owned(),
            bearer: None,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn delete(path: &str) -> Self {
        Request {
            method: hyper::Method::DELETE,
            ..Request::get(path)
        }
    }

    pub fn post_json(path: &str, body: impl Into<Vec<u8>>) -> Self {
        Request {
            method: hyper::Method::POST,
            path: path.to_owned(),
            bearer: None,
            content_type: Some("application/json".into()),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.to_owned());
        self
    }

    /// A POST of raw bytes.
    pub fn post_bytes(path: &str, body: Vec<u8>) -> Self {
        Request {
            method: hyper::Method::POST,
            ..Request::put_bytes(path, body)
        }
    }

    /// A PUT of raw bytes.
    pub fn put_bytes(path: &str, body: Vec<u8>) -> Self {
        Request {
            method: hyper::Method::PUT,
            path: path.to_owned(),
            bearer: None,
            content_type: Some("application/octet-stream".into()),
            headers: Vec::new(),
            body,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// A response: status, headers' `content-type`, body.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Sends one request to the node at `url` over a new connection, pinning its certificate to
/// `server_pin` and presenting `identity`'s certificate when given.
pub async fn send(
    url: &str,
    server_pin: Fingerprint,
    identity: Option<&NodeIdentity>,
    request: Request,
    timeout: Duration,
) -> Result<Response, ClientError> {
    tokio::time::timeout(timeout, send_inner(url, server_pin, identity, request))
        .await
        .map_err(|_| ClientError::Timeout {
            url: url.to_owned(),
            secs: timeout.as_secs(),
        })?
}

async fn send_inner(
    url: &str,
    server_pin: Fingerprint,
    identity: Option<&NodeIdentity>,
    request: Request,
) -> Result<Response, ClientError> {
    let mut open = Open::connect(url, server_pin, identity).await?;
    let response = open.send(request).await;
    open.driver.abort();
    response
}

/// An open HTTP/1.1 connection over TLS, for one request after another.
struct Open {
    url: String,
    host: String,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    driver: tokio::task::JoinHandle<Result<(), hyper::Error>>,
}

impl Open {
    async fn connect(
        url: &str,
        server_pin: Fingerprint,
        identity: Option<&NodeIdentity>,
    ) -> Result<Open, ClientError> {
        let target = validate_url(url).map_err(|e| ClientError::Url(e.to_string()))?;
        let tls_err = |message: String| ClientError::Tls {
            url: url.to_owned(),
            message,
        };
        let config =
            crate::tls::client_config(server_pin, identity).map_err(|e| tls_err(e.to_string()))?;
        let server_name =
            ServerName::try_from(target.host.clone()).map_err(|e| tls_err(e.to_string()))?;
        let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|source| ClientError::Connect {
                url: url.to_owned(),
                source,
            })?;
        // Small requests (a query) must not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(server_name, tcp)
            .await
            .map_err(|e| tls_err(e.to_string()))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| ClientError::Http {
                url: url.to_owned(),
                message: chain(&e),
            })?;
        let driver = tokio::spawn(conn);
        let host = if target.host.contains(':') {
            format!("[{}]:{}", target.host, target.port)
        } else {
            format!("{}:{}", target.host, target.port)
        };
        Ok(Open {
            url: url.to_owned(),
            host,
            sender,
            driver,
        })
    }

    async fn send(&mut self, request: Request) -> Result<Response, ClientError> {
        let url = self.url.clone();
        let http_err = |e: &dyn std::error::Error| ClientError::Http {
            url: url.clone(),
            message: chain(e),
        };
        let mut builder = hyper::Request::builder()
            .method(request.method)
            .uri(&request.path)
            .header(hyper::header::HOST, &self.host);
        if let Some(token) = &request.bearer {
            builder = builder.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(ct) = &request.content_type {
            builder = builder.header(hyper::header::CONTENT_TYPE, ct);
        }
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let req = builder
            .body(Full::new(Bytes::from(request.body)))
            .map_err(|e| http_err(&e))?;
        self.sender.ready().await.map_err(|e| http_err(&e))?;
        let response = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| http_err(&e))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| http_err(&*e))?
            .to_bytes()
            .to_vec();
        Ok(Response { status, body })
    }
}

/// A connection kept open for many requests (a client asking one query after another), from
/// synchronous code: one TLS handshake, then a round trip per request.
pub struct Connection {
    runtime: tokio::runtime::Runtime,
    open: Open,
    timeout: Duration,
}

impl Connection {
    pub fn open(
        url: &str,
        server_pin: Fingerprint,
        identity: Option<&NodeIdentity>,
        timeout: Duration,
    ) -> Result<Connection, ClientError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| ClientError::Connect {
                url: url.to_owned(),
                source,
            })?;
        let open = runtime
            .block_on(async {
                tokio::time::timeout(timeout, Open::connect(url, server_pin, identity)).await
            })
            .map_err(|_| ClientError::Timeout {
                url: url.to_owned(),
                secs: timeout.as_secs(),
            })??;
        Ok(Connection {
            runtime,
            open,
            timeout,
        })
    }

    /// Sends one request on the open connection.
    pub fn send(&mut self, request: Request) -> Result<Response, ClientError> {
        let (open, timeout) = (&mut self.open, self.timeout);
        let url = open.url.clone();
        self.runtime
            .block_on(async { tokio::time::timeout(timeout, open.send(request)).await })
            .map_err(|_| ClientError::Timeout {
                url,
                secs: timeout.as_secs(),
            })?
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.open.driver.abort();
    }
}

/// An error and its sources, `a: b: c` (hyper's own message alone says only "connection
/// error" when the server refused our certificate).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// [`send`] from synchronous code, on a runtime of its own.
pub fn send_blocking(
    url: &str,
    server_pin: Fingerprint,
    identity: Option<&NodeIdentity>,
    request: Request,
    timeout: Duration,
) -> Result<Response, ClientError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| ClientError::Connect {
            url: url.to_owned(),
            source,
        })?;
    runtime.block_on(send(url, server_pin, identity, request, timeout))
}
