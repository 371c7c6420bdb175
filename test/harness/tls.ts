// A throwaway certificate authority for tests of TLS connections: a CA, a server certificate for
// 127.0.0.1/localhost and a client certificate, made with the machine's openssl in a temp directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  /** PEM of the CA that signed both certificates. */
  ca: string;
  serverCert: string;
  /** Unencrypted PKCS#8 key. */
  serverKey: string;
  /** The server's key followed by its certificate, in one PEM file (Kafka's PEM keystore). */
  serverKeystore: string;
  clientCert: string;
  clientKey: string;
  /** A second CA that signed nothing here: trusting it must fail the handshake. */
  otherCa: string;
  remove(): void;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.pem`], dir);
}

function makeLeaf(dir: string, name: string, ca: string, ext: string): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}-key.rsa.pem`, '-out', `${name}.csr`], dir);
  // PKCS#8 ("BEGIN PRIVATE KEY"): the form Kafka's PEM keystore reads.
  openssl(['pkcs8', '-topk8', '-nocrypt', '-in', `${name}-key.rsa.pem`, '-out', `${name}-key.pem`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
}

/** Creates the CA and certificates; call remove() when done. Needs `openssl` on PATH. */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'flopwatch-tls-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  makeLeaf(dir, 'server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  makeLeaf(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth\n');
  const path = (f: string) => join(dir, f);
  writeFileSync(path('server-keystore.pem'), readFileSync(path('server-key.pem'), 'utf8') + readFileSync(path('server.pem'), 'utf8'));
  return {
    dir,
    ca: path('ca.pem'),
    serverCert: path('server.pem'),
    serverKey: path('server-key.pem'),
    serverKeystore: path('server-keystore.pem'),
    clientCert: path('client.pem'),
    clientKey: path('client-key.pem'),
    otherCa: path('other-ca.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
