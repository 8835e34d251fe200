//! Chain verification to a CA entry with rustls-webpki (client-auth usage), over the
//! intermediates the client sent. Pinned leaves never come here: they are matched by hash.

use std::time::Duration;

use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{anchor_from_trusted_cert, EndEntityCert, KeyUsage};

use super::view::CaCertificate;
use super::PeerCertificate;
use crate::UnixSeconds;

/// Answers "does this peer's leaf chain to this CA entry at `now`?". The gateway wraps it with a
/// per-connection cache; tests may use it as is.
pub trait ChainCheck {
    fn chains_to(&self, peer: &PeerCertificate, ca: &CaCertificate, now: UnixSeconds) -> bool;
}

/// The real check, with webpki and aws-lc-rs signature algorithms.
#[derive(Debug, Default, Clone, Copy)]
pub struct WebpkiChainCheck;

impl ChainCheck for WebpkiChainCheck {
    fn chains_to(&self, peer: &PeerCertificate, ca: &CaCertificate, now: UnixSeconds) -> bool {
        verify_chain(&peer.der, &peer.intermediates, &ca.der, now)
    }
}

/// Whether `leaf` chains to `ca` (through `intermediates`) for client authentication at `now`.
pub fn verify_chain(leaf: &[u8], intermediates: &[Vec<u8>], ca: &[u8], now: UnixSeconds) -> bool {
    let Ok(now) = u64::try_from(now) else { return false };
    let ca_der = CertificateDer::from(ca);
    let Ok(anchor) = anchor_from_trusted_cert(&ca_der) else { return false };
    let leaf_der = CertificateDer::from(leaf);
    let Ok(end_entity) = EndEntityCert::try_from(&leaf_der) else { return false };
    let intermediates: Vec<CertificateDer<'_>> = intermediates.iter().map(|d| CertificateDer::from(d.as_slice())).collect();
    end_entity
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &[anchor],
            &intermediates,
            UnixTime::since_unix_epoch(Duration::from_secs(now)),
            KeyUsage::client_auth(),
            None,
            None,
        )
        .is_ok()
}
