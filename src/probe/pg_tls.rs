//! TLS for the postgres probe: tokio-postgres's connector traits over rustls, verifying as
//! the http probe's client does (the platform's roots, a probe's `ca_file` beside them).
//! The certificate and the host name are always verified, as libpq's `verify-full` does:
//! a probe that trusted any certificate would report a server it cannot tell apart.
//!
//! Spoken only for `sslmode=require`: under the default `prefer`, libpq would accept an
//! unverified certificate (Debian's own PostgreSQL ships a self-signed one), so the probe
//! keeps to plain TCP there rather than fail where `psql` connects.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, InvalidDnsNameError, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// A probe's TLS settings, and the client configuration made from them at its first
/// attempt (loading the platform's roots costs time and memory a probe without TLS and a
/// `config check` should not pay). A failure to make it is not kept: the next attempt
/// tries again (a `ca_file` being replaced, say).
#[derive(Debug, Clone, Default)]
pub struct Tls {
    /// PEM certificates trusted beside the system's.
    pub ca_file: Option<PathBuf>,
    made: Arc<OnceLock<Arc<ClientConfig>>>,
}

impl PartialEq for Tls {
    fn eq(&self, other: &Tls) -> bool {
        self.ca_file == other.ca_file
    }
}

impl Tls {
    /// Settings trusting `ca_file` beside the system's roots.
    pub fn new(ca_file: Option<PathBuf>) -> Tls {
        Tls { ca_file, made: Arc::default() }
    }

    /// Whether `ca_file` holds PEM certificates, as the config checks it.
    pub fn check(ca_file: &Path) -> Result<(), String> {
        roots(ca_file).map(drop)
    }

    /// The connector, made once; the error says what is wrong with `ca_file`.
    pub fn connector(&self) -> Result<Connector, String> {
        if let Some(made) = self.made.get() {
            return Ok(Connector(made.clone()));
        }
        let made = Arc::new(config(self.ca_file.as_deref())?);
        Ok(Connector(self.made.get_or_init(|| made).clone()))
    }
}

/// The certificates of a PEM file (a `ca_file`), at least one.
fn roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{} is not PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// rustls' client configuration: the platform's verifier, `ca_file`'s roots added.
fn config(ca_file: Option<&Path>) -> Result<ClientConfig, String> {
    let extra = ca_file.map(roots).transpose()?.unwrap_or_default();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
        .map_err(|e| format!("cannot set up certificate verification: {e}"))?;
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// Makes one TLS connection per connect, to the host the connection string names.
#[derive(Clone)]
pub struct Connector(Arc<ClientConfig>);

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> MakeTlsConnect<S> for Connector {
    type Stream = Stream<S>;
    type TlsConnect = Connect;
    type Error = InvalidDnsNameError;

    fn make_tls_connect(&mut self, host: &str) -> Result<Connect, InvalidDnsNameError> {
        Ok(Connect { config: self.0.clone(), name: ServerName::try_from(host)?.to_owned() })
    }
}

/// One handshake with a named server.
pub struct Connect {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> TlsConnect<S> for Connect {
    type Stream = Stream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move { connector.connect(self.name, stream).await.map(Stream) })
    }
}

/// A TLS stream to the server.
pub struct Stream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
    /// No channel binding: SCRAM authenticates without it (libpq's `channel_binding=prefer`).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}
