//! A certificate authority and a server certificate for `127.0.0.1` and `localhost`, made
//! fresh by a test: for Azurite over HTTPS and the test's own identity service. A process
//! under test trusts it through `SSL_CERT_FILE` ([`TestCertificate::ca_file`]).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// The files of a test certificate authority and one server certificate it signed.
pub struct TestCertificate {
    ca_file: PathBuf,
    cert_file: PathBuf,
    key_file: PathBuf,
    cert_pem: String,
    key_pem: String,
}

impl TestCertificate {
    /// Makes a new authority and a server certificate for `127.0.0.1` and `localhost`, and
    /// writes `ca.pem`, `cert.pem` and `key.pem` into `dir` (created if missing).
    pub fn generate(dir: &Path) -> io::Result<TestCertificate> {
        let failed = |e: rcgen::Error| io::Error::other(e.to_string());
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(
            rcgen::DnType::CommonName,
            "Durable Functions test authority",
        );
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().map_err(failed)?;
        let ca_cert = ca.self_signed(&ca_key).map_err(failed)?;
        let issuer = Issuer::new(ca, ca_key);

        let mut server =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .map_err(failed)?;
        server
            .distinguished_name
            .push(rcgen::DnType::CommonName, "127.0.0.1");
        server.use_authority_key_identifier_extension = true;
        server
            .extended_key_usages
            .push(rcgen::ExtendedKeyUsagePurpose::ServerAuth);
        let server_key = KeyPair::generate().map_err(failed)?;
        let server_cert = server.signed_by(&server_key, &issuer).map_err(failed)?;

        std::fs::create_dir_all(dir)?;
        let certificate = TestCertificate {
            ca_file: dir.join("ca.pem"),
            cert_file: dir.join("cert.pem"),
            key_file: dir.join("key.pem"),
            cert_pem: server_cert.pem(),
            key_pem: server_key.serialize_pem(),
        };
        std::fs::write(&certificate.ca_file, ca_cert.pem())?;
        std::fs::write(&certificate.cert_file, &certificate.cert_pem)?;
        std::fs::write(&certificate.key_file, &certificate.key_pem)?;
        Ok(certificate)
    }

    /// The authority's certificate (PEM): point `SSL_CERT_FILE` at it to trust the server.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The server certificate (PEM).
    pub fn cert_file(&self) -> &Path {
        &self.cert_file
    }

    /// The server's private key (PEM).
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// A TLS server configuration with this certificate.
    pub fn server_config(&self) -> io::Result<Arc<rustls::ServerConfig>> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let bad = |e: &dyn std::fmt::Display| io::Error::other(e.to_string());
        let chain =
            vec![CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).map_err(|e| bad(&e))?];
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|e| bad(&e))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(&e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| bad(&e))?;
        Ok(Arc::new(config))
    }
}
