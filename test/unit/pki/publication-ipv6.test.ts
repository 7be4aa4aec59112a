// The publication listener (issue 16) on IPv6: '::' serves both families (dual stack), '::1' IPv6
// alone; loopback, port 0.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { loadOrCreatePki } from '../../../firmware/pki/pki-store.ts';
import { PublicationSubsystem } from '../../../firmware/pki/publication-subsystem.ts';

const log = createLogger({ sink: () => {} });

function get(host: string, port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, agent: false, timeout: 3_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function listening(t: Test, host: string): Promise<{ sub: PublicationSubsystem; port: number }> {
  const state = mkdtempSync(join(tmpdir(), 'postern-pub6-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const config = defaultConfig();
  config.certificates.server = { commonName: 'vpn.example.com', sans: ['vpn.example.com'] };
  const sub = new PublicationSubsystem({ logger: log, stateDir: state, ca: (c) => loadOrCreatePki(state, c.certificates, log).ca, override: { host, port: 0 } });
  await sub.start(config);
  t.teardown(() => sub.stop());
  return { sub, port: sub.address()!.port };
}

t.test("'::': the CRL and CA certificate over IPv6 and IPv4 from one listener", async (t) => {
  const { sub, port } = await listening(t, '::');
  t.match(sub.status().detail, new RegExp(`^http://\\[::\\]:${port} \\(IPv6 and IPv4\\)$`), 'the status names both families');
  const six = await get('::1', port, '/pki/ca.crl');
  const four = await get('127.0.0.1', port, '/pki/ca.crl');
  t.equal(six.status, 200, 'over IPv6');
  t.equal(four.status, 200, 'over IPv4 (dual stack)');
  t.same(six.body, four.body, 'the same CRL');
  t.equal((await get('::1', port, '/pki/ca.crt')).status, 200, 'the CA certificate too');
  t.equal((await get('::1', port, '/healthz')).status, 404, 'and nothing else');
});

t.test("'::1': IPv6 alone", async (t) => {
  const { sub, port } = await listening(t, '::1');
  t.equal(sub.status().detail, `http://[::1]:${port}`);
  t.equal((await get('::1', port, '/pki/ca.crl')).status, 200);
  await t.rejects(get('127.0.0.1', port, '/pki/ca.crl'), /ECONNREFUSED/, 'not on IPv4');
});

t.test("the configuration takes '::' as the listen address", async (t) => {
  const config = defaultConfig();
  config.certificates.publication = { listen: '::' };
  const result = validateConfig(config);
  t.same(result.ok ? [] : result.errors.filter((e) => e.path.includes('publication')), []);
  config.certificates.publication = { listen: ':::1' };
  const bad = validateConfig(config);
  t.ok(!bad.ok && bad.errors.some((e) => e.path === 'certificates.publication.listen'), 'a malformed one is refused at its field');
});
