import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';

// A fresh client certificate for a test, issued by the demo CA (DATA_DIR/demo/ca.{crt,key}):
// node:crypto signs but cannot build X.509, so the few DER structures a leaf needs are
// encoded here. The result is checked with node's own X509Certificate before it is used.

const OID = {
  commonName: '2.5.4.3',
  organisationName: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (b: boolean) => tlv(0x01, Buffer.from([b ? 0xff : 0]));
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function utcTime(d: Date): Buffer {
  const two = (n: number) => String(n).padStart(2, '0');
  const text = `${two(d.getUTCFullYear() % 100)}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

/** The TLV elements of one DER SEQUENCE's content. */
function children(der: Buffer): Buffer[] {
  const header = (at: number) => {
    const first = der[at + 1];
    if (first < 0x80) return { start: at + 2, len: first };
    const count = first & 0x7f;
    let len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + der[at + 2 + i];
    return { start: at + 2 + count, len };
  };
  const outer = header(0);
  const out: Buffer[] = [];
  for (let at = outer.start; at < outer.start + outer.len; ) {
    const { start, len } = header(at);
    out.push(der.subarray(at, start + len));
    at = start + len;
  }
  return out;
}

/** The subject Name of a certificate, byte for byte (a leaf's issuer must equal it). */
function subjectOf(certificateDer: Buffer): Buffer {
  const tbs = children(certificateDer)[0];
  const fields = children(tbs);
  // [0] version, serial, signature algorithm, issuer, validity, subject.
  return fields[0][0] === 0xa0 ? fields[5] : fields[4];
}

function name(commonName: string, organisation: string): Buffer {
  const rdn = (type: string, value: string) => set(seq(oid(type), utf8(value)));
  return seq(rdn(OID.organisationName, organisation), rdn(OID.commonName, commonName));
}

export interface IssuedCertificate {
  pem: string;
  der: Buffer;
  keyPem: string;
  /** Lowercase hex SHA-256 of the DER: certgate's certificate id. */
  id: string;
  /** Colon-grouped uppercase SHA-256, as node (and the portal) print it. */
  fingerprint: string;
}

/** A P-256 clientAuth leaf valid from an hour ago for `days` days (30 unless said), signed by the CA's P-256 key. */
export function issueClientCertificate(ca: { certPem: string; keyPem: string }, commonName: string, organisation: string, days = 30): IssuedCertificate {
  const caCert = new X509Certificate(ca.certPem);
  const caKey = createPrivateKey(ca.keyPem);
  if (caKey.asymmetricKeyType !== 'ec') throw new Error(`the demo CA key is ${caKey.asymmetricKeyType}, this helper signs with ECDSA only`);
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // a positive INTEGER
  const now = Date.now();
  const extensions = seq(
    seq(oid(OID.basicConstraints), bool(true), octets(seq())), // CA:FALSE
    seq(oid(OID.keyUsage), bool(true), octets(tlv(0x03, Buffer.from([7, 0x80])))), // digitalSignature
    seq(oid(OID.extKeyUsage), octets(seq(oid(OID.clientAuth)))),
  );
  const signatureAlgorithm = seq(oid(OID.ecdsaWithSha256));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // v3
    tlv(0x02, serial),
    signatureAlgorithm,
    subjectOf(caCert.raw),
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + days * 86400_000))),
    name(commonName, organisation),
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, extensions),
  );
  const der = seq(tbs, signatureAlgorithm, bits(sign('sha256', tbs, caKey)));
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  const parsed = new X509Certificate(pem);
  if (!parsed.verify(caCert.publicKey) || !parsed.checkIssued(caCert)) throw new Error('the issued certificate does not verify against the demo CA');
  return {
    pem,
    der,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    id: createHash('sha256').update(der).digest('hex'),
    fingerprint: parsed.fingerprint256,
  };
}
