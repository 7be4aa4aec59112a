// A CA outside Postern for revocation tests (issue 16): Postern's createCa makes the root, the
// openssl CLI makes end-entity certificates naming a CRL distribution point and an OCSP responder,
// a delegated OCSP signer (id-kp-OCSPSigning), the CRL (Postern's createCrl) and the index file
// `openssl ocsp` answers from.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, type CertificateAuthority } from '../../firmware/pki/ca.ts';
import { createCrl } from '../../firmware/pki/crl.ts';
import { pemDecode } from '../../firmware/pki/der.ts';

export interface IssuedLeaf {
  readonly name: string;
  readonly certificatePem: string;
  readonly keyPem: string;
  readonly serialHex: string;
  readonly certPath: string;
}

export interface RevocationPki {
  readonly dir: string;
  readonly ca: CertificateAuthority;
  readonly caPath: string;
  readonly caKeyPath: string;
  /** A leaf for `name` (DNS SAN), naming these URLs. */
  issue(name: string, urls: { crl?: string; ocsp?: string }, extra?: { eku?: string }): IssuedLeaf;
  /** The CRL as DER, listing `revoked`. */
  crl(revoked: ReadonlyArray<{ serialHex: string; revokedAt: Date }>, nextUpdateDays?: number): Buffer;
  /** index.txt for `openssl ocsp -index`; returns its path. */
  writeIndex(leaves: readonly IssuedLeaf[], revoked: ReadonlyMap<string, Date>): string;
  cleanup(): void;
}

let serialCounter = 0x1000;

export function makeRevocationPki(): RevocationPki {
  const dir = mkdtempSync(join(tmpdir(), 'postern-revocation-'));
  const ca = createCa({ commonName: 'Outside Lab CA', validityDays: 30, keyType: 'ecdsa-p256', now: new Date() });
  const caPath = join(dir, 'ca.pem');
  const caKeyPath = join(dir, 'ca.key');
  writeFileSync(caPath, ca.certificatePem);
  writeFileSync(caKeyPath, ca.keyPem.reveal(), { mode: 0o600 });
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const issue: RevocationPki['issue'] = (name, urls, extra = {}) => {
    const serial = (serialCounter++ + Math.floor(Math.random() * 0xffff) * 0x10000).toString(16);
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const cert = join(dir, `${name}.pem`);
    const ext = join(dir, `${name}.ext`);
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
    const lines = [`subjectAltName=DNS:${name}`, 'basicConstraints=critical,CA:FALSE', `extendedKeyUsage=${extra.eku ?? 'clientAuth,serverAuth'}`];
    if (urls.crl) lines.push(`crlDistributionPoints=URI:${urls.crl}`);
    if (urls.ocsp) lines.push(`authorityInfoAccess=OCSP;URI:${urls.ocsp}`);
    writeFileSync(ext, `${lines.join('\n')}\n`);
    openssl(['x509', '-req', '-in', csr, '-CA', caPath, '-CAkey', caKeyPath, '-set_serial', `0x${serial}`, '-days', '20', '-sha256', '-extfile', ext, '-out', cert]);
    return { name, certificatePem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8'), serialHex: serial, certPath: cert };
  };
  return {
    dir, ca, caPath, caKeyPath, issue,
    crl: (revoked, nextUpdateDays = 7) => pemDecode('X509 CRL', createCrl(ca, revoked, { now: new Date(), nextUpdateDays }))!,
    writeIndex: (leaves, revoked) => {
      const when = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
      const expiry = when(new Date(Date.now() + 20 * 86_400_000));
      const rows = leaves.map((l) => {
        const at = revoked.get(l.serialHex);
        const serial = l.serialHex.length % 2 ? `0${l.serialHex}` : l.serialHex;
        return [at ? 'R' : 'V', expiry, at ? when(at) : '', serial.toUpperCase(), 'unknown', `/CN=${l.name}`].join('\t');
      });
      const path = join(dir, 'index.txt');
      writeFileSync(path, `${rows.join('\n')}\n`);
      writeFileSync(`${path}.attr`, 'unique_subject = no\n');
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
