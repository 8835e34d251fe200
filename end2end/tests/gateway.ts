import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { DATA_DIR, GATEWAY_PORT } from '../e2e-env';

// Real requests to certgate's gateway from the test process: TLS verified against the
// gateway's generated certificate, and a client certificate of the test's choosing.

/** The gateway as the portal names it (its generated certificate names 127.0.0.1 too). */
export const GATEWAY_ORIGIN = `https://127.0.0.1:${GATEWAY_PORT}`;

const DEMO_DIR = path.join(DATA_DIR, 'demo');

export interface ClientCertificate {
  /** The certificate's label in the portal (its portal name or common name). */
  label: string;
  cert: string;
  key: string;
}

/** A client certificate the demo wrote to DATA_DIR/demo/ (`client` is Acme Corp's, `globex` Globex's). */
export function demoClient(file: 'client' | 'globex'): ClientCertificate {
  const label = file === 'client' ? 'Acme demo client' : 'Globex demo client';
  return { label, cert: readFileSync(path.join(DEMO_DIR, `${file}.crt`), 'utf8'), key: readFileSync(path.join(DEMO_DIR, `${file}.key`), 'utf8') };
}

/** The demo CA that issued the demo's client certificates (for issuing a fresh one). */
export function demoCa() {
  return { certPem: readFileSync(path.join(DEMO_DIR, 'ca.crt'), 'utf8'), keyPem: readFileSync(path.join(DEMO_DIR, 'ca.key'), 'utf8') };
}

export interface GatewayAnswer {
  status: number;
  contentType: string;
  wwwAuthenticate: string;
  text: string;
  json: any;
}

/** GET `url` through the gateway with `client`'s certificate and, if given, the bearer token.
 *  A new connection each time (no agent): the gateway decides mTLS per connection. */
export function gatewayGet(url: string, client: ClientCertificate | null, token?: string): Promise<GatewayAnswer> {
  const ca = readFileSync(path.join(DATA_DIR, 'gateway-tls', 'server.crt'));
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: 'GET',
        agent: false,
        ca,
        cert: client?.cert,
        key: client?.key,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = JSON.parse(text);
          } catch {
            // Not JSON: the assertions on `json` say so.
          }
          resolve({
            status: response.statusCode ?? 0,
            contentType: String(response.headers['content-type'] ?? ''),
            wwwAuthenticate: String(response.headers['www-authenticate'] ?? ''),
            text,
            json,
          });
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer from the gateway for ${url}`)));
    request.on('error', reject);
    request.end();
  });
}
