//! The demo's certificates, as files in `DATA_DIR/demo/`: a CA (`ca.crt`, `ca.key`) and client
//! certificates it issues, each `NAME.crt` with `NAME.key` (keys mode 0600). Made once: a
//! restart reuses whatever exists, so the store and the files keep matching.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// The demo CA: its key and the (deterministic) parameters its certificate was made from,
/// which is all rcgen needs to issue under it again after a restart.
pub struct DemoCa {
    issuer: Issuer<'static, KeyPair>,
    pub crt: PathBuf,
}

/// A client certificate and its key on disk.
pub struct ClientFiles {
    pub crt: PathBuf,
    pub key: PathBuf,
}

impl ClientFiles {
    pub fn pem(&self) -> anyhow::Result<String> {
        std::fs::read_to_string(&self.crt).with_context(|| format!("cannot read {}", self.crt.display()))
    }
}

fn ca_params() -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new()).context("demo CA")?;
    params.distinguished_name.push(DnType::CommonName, "certgate demo CA");
    params.distinguished_name.push(DnType::OrganizationName, "certgate demo");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    Ok(params)
}

fn read_key(path: &Path) -> anyhow::Result<KeyPair> {
    let pem = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    KeyPair::from_pem(&pem).with_context(|| format!("{} holds no usable private key", path.display()))
}

fn write_certificate(path: &Path, pem: &str) -> anyhow::Result<()> {
    // Written beside and renamed: a crash never leaves half a certificate.
    let tmp = path.with_extension("crt.tmp");
    std::fs::write(&tmp, pem).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// The CA of `dir`, made on first use.
pub fn ensure_ca(dir: &Path) -> anyhow::Result<DemoCa> {
    let (crt, key_path) = (dir.join("ca.crt"), dir.join("ca.key"));
    let key = if key_path.exists() {
        read_key(&key_path)?
    } else {
        let key = KeyPair::generate().context("demo CA key")?;
        certgate_gateway::tls::write_private(&key_path, key.serialize_pem().as_bytes())?;
        key
    };
    let params = ca_params()?;
    if !crt.exists() {
        let cert = params.self_signed(&key).context("demo CA certificate")?;
        write_certificate(&crt, &cert.pem())?;
    }
    Ok(DemoCa { issuer: Issuer::new(params, key), crt })
}

/// The client certificate `dir/NAME.{crt,key}`, issued by the demo CA on first use (clientAuth,
/// `common_name` and `organisation` in its subject).
pub fn ensure_client(ca: &DemoCa, dir: &Path, name: &str, common_name: &str, organisation: &str) -> anyhow::Result<ClientFiles> {
    let files = ClientFiles { crt: dir.join(format!("{name}.crt")), key: dir.join(format!("{name}.key")) };
    if files.crt.exists() && files.key.exists() {
        return Ok(files);
    }
    let mut params = CertificateParams::new(vec![format!("{name}.demo.certgate.local")]).context("demo certificate")?;
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.distinguished_name.push(DnType::OrganizationName, organisation);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().context("demo key")?;
    let cert = params.signed_by(&key, &ca.issuer).context("demo certificate")?;
    certgate_gateway::tls::write_private(&files.key, key.serialize_pem().as_bytes())?;
    write_certificate(&files.crt, &cert.pem())?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use certgate_core::pki::{self, Encoding};

    #[test]
    fn leaves_chain_to_the_ca_and_a_second_call_reuses_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ensure_ca(dir.path()).unwrap();
        let acme = ensure_client(&ca, dir.path(), "acme", "Acme client", "Acme Corp").unwrap();
        let first = acme.pem().unwrap();
        let (_, ca_facts) = pki::read_one_certificate(std::fs::read(&ca.crt).unwrap().as_slice(), Encoding::Pem).unwrap();
        let (_, leaf) = pki::read_one_certificate(first.as_bytes(), Encoding::Pem).unwrap();
        assert!(ca_facts.is_ca && !leaf.is_ca);
        assert_eq!(leaf.issuer, ca_facts.subject);
        assert!(pki::client_auth_problem(&leaf, certgate_services::clock::now()).is_none(), "usable for client authentication");

        // After a "restart": the same CA key issues, existing leaves are kept.
        let again = ensure_ca(dir.path()).unwrap();
        assert_eq!(ensure_client(&again, dir.path(), "acme", "x", "y").unwrap().pem().unwrap(), first);
        let globex = ensure_client(&again, dir.path(), "globex", "Globex client", "Globex").unwrap();
        let (_, other) = pki::read_one_certificate(globex.pem().unwrap().as_bytes(), Encoding::Pem).unwrap();
        assert_eq!(other.issuer, ca_facts.subject);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&globex.key).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
