// A peer whose certificate comes from an intermediate CA: the chain it sends in further CERT payloads
// leads to our trusted root (made with the openssl command line, as an outside PKI would be).
import { spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';
import { labSkip } from '../../lab/skip.ts';

const skip = labSkip(spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed');

function outsidePki(): { root: string; intermediate: string; leaf: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'postern-chain-'));
  const ssl = (...args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  writeFileSync(join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nsubjectAltName=DNS:a.example\nauthorityKeyIdentifier=keyid\n');
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-subj', '/CN=Outside Root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=Outside Intermediate');
  ssl('x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'int.pem', '-days', '30', '-extfile', 'ca.ext');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=a.example');
  ssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '30', '-extfile', 'leaf.ext');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const out = { root: read('root.pem'), intermediate: read('int.pem'), leaf: read('leaf.pem'), key: read('leaf.key') };
  rmSync(dir, { recursive: true, force: true });
  return out;
}

t.test('a chain through an intermediate CA is followed to the trusted root; without it, refused', { skip }, async (t) => {
  const outside = outsidePki();
  const ours = testCa();
  const b = identity(ours, 'b.example', ['b.example']);
  for (const sendChain of [true, false]) {
    const a = new IkeEngine([connection('to-b', {
      remoteAddress: '192.0.2.2', localId: 'a.example', remoteId: 'b.example', peerAuth: 'certificate', trustedCas: [der(ours.certificatePem)], localAuth: 'certificate',
      certificate: { der: new X509Certificate(outside.leaf).raw, key: new Secret(createPrivateKey(outside.key)), ...(sendChain ? { chain: [new X509Certificate(outside.intermediate).raw] } : {}) },
    })], seededCrypto('a'));
    const gw = new IkeEngine([connection('to-a', { localId: 'b.example', remoteId: 'a.example', peerAuth: 'certificate', trustedCas: [der(outside.root)], ...b.auth, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('b'));
    const pair = new EnginePair(a, gw);
    pair.take('a', a.initiate('to-b', { address: '192.0.2.1', port: 500 }, 0));
    pair.run(5000);
    if (sendChain) {
      t.equal(pair.of('b', 'ike-up')[0]?.remoteId, 'a.example', 'with the intermediate: authenticated');
      t.ok(pair.logs('b').some((l) => /IKE_AUTH request 1 \[ IDi N\(INITIAL_CONTACT\) CERTREQ IDr CERT CERT AUTH/.test(l)), 'two CERT payloads');
    } else {
      t.equal(pair.of('b', 'ike-up').length, 0, 'without it: refused');
      t.ok(pair.logs('b').some((l) => l.includes('is not signed by a trusted CA')), 'with the reason');
    }
  }
});
