#!/usr/bin/env python3
"""Loads certgate with many certificates and tokens through its admin REST API (for the
memory figure of bench/run.sh). Certificates are generated with `cryptography`."""
import argparse
import concurrent.futures
import datetime
import json
import time
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def post(base, token, path, body, content_type="application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def certificate(i, key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"bench client {i}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30 + i % 300))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--portal", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--certificates", type=int, default=10000)
    parser.add_argument("--tokens", type=int, default=100000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    base = args.portal + "/api/v1"
    key = ec.generate_private_key(ec.SECP256R1())
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        pems = list(pool.map(lambda i: certificate(i, key), range(args.certificates)))
        ids = list(pool.map(lambda pem: post(base, args.admin_token, "/certificates", pem, "application/x-pem-file")["id"], pems))
        print(f"{len(ids)} certificates in {time.time() - started:.0f} s", flush=True)
        started = time.time()
        body = lambda i: {"apis": [args.api], "bound_certificates": [ids[i % len(ids)]],
                          "rate": {"requests": 100, "per_seconds": 1}}
        created = sum(1 for _ in pool.map(lambda i: post(base, args.admin_token, "/keys", body(i)), range(args.tokens)))
    print(f"{created} tokens in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
