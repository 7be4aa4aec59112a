// Issue 16's proof: `postern run` in a lab namespace publishes its CRL on the WAN side, and a client
// namespace checks a certificate the way Windows does before an SSTP tunnel exists: it takes the CRL
// distribution point from the gateway certificate the TLS server presents, fetches it over plain
// HTTP (CryptoAPI's 15 s URL timeout), checks that the CA signed it and that it is current, then runs
// `openssl verify -crl_check`. A client certificate revoked through the API is rejected with the CRL
// fetched again right after the revocation.
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { hashPassword } from '../../firmware/control/password-hash.ts';
import { describeCertificate } from '../../firmware/pki/inspect.ts';
import { importPkcs12 } from '../../firmware/pki/pkcs12.ts';
import { Secret } from '../../firmware/util/secret.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !hasBinary('openssl') ? 'the openssl CLI is not installed' : !hasBinary('curl') ? 'curl is not installed' : false);
const ADMIN = 'Field-Tech-Pass-77';
const NAME = 'vpn.example.com';
const GATEWAY = '192.0.2.2';

t.test('postern run publishes its CRL on the WAN; a Windows-style check accepts a valid certificate and rejects a revoked one', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect); // gwA: the client on the WAN; gwB: Postern
  t.teardown(() => lab.teardown());
  const work = lab.subdir('pki-client');
  const file = (name: string, content?: string | Buffer): string => {
    const path = join(work, name);
    if (content !== undefined) writeFileSync(path, content);
    return path;
  };
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: `${GATEWAY}/24` };
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false }; // inside gwB's namespace
  config.admin.passwordHash = hashPassword(ADMIN);
  config.users = [storedUser({ name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true })];
  config.certificates.server = { commonName: NAME, sans: [NAME, GATEWAY] };
  // publication left out: on by default, port 80 of every address, named by the first DNS SAN.
  const postern = await startPostern(lab, 'gwB', config, (log) => log.includes('CRL publication listening') && log.includes('SSTP listening'));
  t.teardown(() => postern.stop());
  const caPem = readFileSync(join(postern.stateDir, 'pki', 'ca.pem'), 'utf8');
  const caFile = file('ca.pem', caPem);

  // The gateway certificate as a client meets it: presented by the SSTP TLS server on the WAN.
  const hello = await lab.exec('gwA', ['sh', '-c', `openssl s_client -connect ${GATEWAY}:443 -servername ${NAME} </dev/null 2>/dev/null`], 15_000);
  const presented = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(hello.stdout)?.[0];
  if (!presented) throw new Error(`no certificate from the SSTP listener:\n${hello.stdout.slice(0, 2000)}\n${postern.log().slice(-3000)}`);
  const gateway = describeCertificate(presented);
  t.same(gateway.crlUrls, [`http://${NAME}/pki/ca.crl`], 'the gateway certificate names its CRL on the public name over plain HTTP');
  t.same(gateway.caIssuerUrls, [`http://${NAME}/pki/ca.crt`], 'and the CA certificate (AIA caIssuers)');
  const gatewayFile = file('gateway.pem', presented);

  // The client resolves the certificate's name to the gateway's WAN address, as DNS would.
  const fetch = async (url: string, out: string, extra: string[] = []) => {
    const host = new URL(url).hostname;
    const r = await lab.exec('gwA', ['curl', '-sS', '--max-time', '15', '--resolve', `${host}:80:${GATEWAY}`, '-o', out, '-w', '%{http_code} %{content_type}', ...extra, url], 20_000);
    return { code: r.code, status: r.stdout.split(' ')[0], contentType: r.stdout.split(' ').slice(1).join(' '), stderr: r.stderr };
  };
  /** What CryptoAPI checks of a CRL before it trusts it: reachable, DER, signed by the issuing CA, current. */
  const windowsCrlCheck = async (t: Test, label: string): Promise<string> => {
    const der = file(`${label}.crl`);
    const got = await fetch(gateway.crlUrls[0]!, der);
    t.equal(got.code, 0, `${label}: the CDP is reachable from the WAN (${got.stderr})`);
    t.equal(got.status, '200', `${label}: 200`);
    t.equal(got.contentType, 'application/pkix-crl', `${label}: served as application/pkix-crl (RFC 2585)`);
    const signed = await lab.exec('gwA', ['openssl', 'crl', '-inform', 'DER', '-in', der, '-CAfile', caFile, '-noout']);
    t.match(`${signed.stdout}${signed.stderr}`, /verify OK/, `${label}: DER, and signed by the CA`);
    const text = (await lab.exec('gwA', ['openssl', 'crl', '-inform', 'DER', '-in', der, '-noout', '-text'])).stdout;
    const caSubject = new X509Certificate(caPem).subject.replace(/=/g, ' = ');
    t.match(text, new RegExp(`Issuer: ${caSubject}`), `${label}: issued by the CA that issued the certificate`);
    const last = Date.parse(/Last Update: (.+)/.exec(text)?.[1] ?? '');
    const next = Date.parse(/Next Update: (.+)/.exec(text)?.[1] ?? '');
    t.ok(last <= Date.now() && Date.now() < next, `${label}: current (thisUpdate ${new Date(last).toISOString()}, nextUpdate ${new Date(next).toISOString()})`);
    const pem = file(`${label}.crl.pem`);
    await lab.exec('gwA', ['openssl', 'crl', '-inform', 'DER', '-in', der, '-out', pem]);
    return pem;
  };

  const aia = file('aia-ca.der');
  const ca = await fetch(gateway.caIssuerUrls[0]!, aia);
  t.equal(`${ca.status} ${ca.contentType}`, '200 application/pkix-cert', 'the caIssuers URL serves a DER certificate');
  t.same(readFileSync(aia), new X509Certificate(caPem).raw, 'the CA certificate itself');

  // A client certificate from the API (logged in with curl inside gwB's namespace, where the API listens).
  const jar = join(work, 'cookies');
  const api = async (method: string, path: string, body?: unknown, out?: string) => {
    const args = ['curl', '-sS', '--max-time', '30', '-b', jar, '-c', jar, '-X', method, '-H', 'Content-Type: application/json'];
    if (csrf) args.push('-H', `X-CSRF-Token: ${csrf}`);
    if (body !== undefined) args.push('--data', JSON.stringify(body));
    if (out) args.push('-o', out);
    return lab.exec('gwB', [...args, `http://127.0.0.1:18080${path}`], 40_000);
  };
  let csrf = '';
  const login = await api('POST', '/api/v1/login', { password: ADMIN });
  csrf = (JSON.parse(login.stdout) as { csrfToken: string }).csrfToken;
  t.ok(csrf, 'logged in to the API');
  const p12 = file('laptop.p12');
  await api('POST', '/api/v1/certificates/clients', { name: 'laptop-1', password: 'Bundle-Pass-1234' }, p12);
  const client = importPkcs12(readFileSync(p12), new Secret('Bundle-Pass-1234'));
  const clientFile = file('client.pem', client.certificatePem);
  t.same(describeCertificate(client.certificatePem).crlUrls, gateway.crlUrls, 'client certificates name the same CRL');

  const before = await windowsCrlCheck(t, 'before');
  for (const [what, cert] of [['gateway', gatewayFile], ['client', clientFile]] as const) {
    const ok = await lab.exec('gwA', ['openssl', 'verify', '-crl_check', '-CAfile', caFile, '-CRLfile', before, cert]);
    t.equal(ok.code, 0, `openssl verify -crl_check accepts the ${what} certificate: ${ok.stdout}${ok.stderr}`);
  }

  const serial = describeCertificate(client.certificatePem).serialHex;
  const revoked = await api('POST', '/api/v1/certificates/revoke', { serialHex: serial });
  t.match(JSON.parse(revoked.stdout), { ok: true }, 'revoked through the API');
  const after = await windowsCrlCheck(t, 'after');
  const refused = await lab.exec('gwA', ['openssl', 'verify', '-crl_check', '-CAfile', caFile, '-CRLfile', after, clientFile]);
  t.not(refused.code, 0, 'the revoked client certificate is rejected with the CRL fetched right after');
  t.match(`${refused.stdout}${refused.stderr}`, /certificate revoked/);
  const still = await lab.exec('gwA', ['openssl', 'verify', '-crl_check', '-CAfile', caFile, '-CRLfile', after, gatewayFile]);
  t.equal(still.code, 0, `the gateway certificate still passes: ${still.stdout}${still.stderr}`);
  const number = (pem: string) => BigInt(/CRL Number:\s*(\d+)/.exec(lab.execSync('gwA', ['openssl', 'crl', '-in', pem, '-noout', '-text']))?.[1] ?? '0');
  t.ok(number(after) > number(before), 'the republished CRL has a higher CRL number');

  // Exactly two files on that listener: nothing else, no API, no other method.
  const other = await fetch(`http://${NAME}/api/v1/session`, '/dev/null');
  t.equal(other.status, '404', 'the API is not on the publication listener');
  const post = await fetch(gateway.crlUrls[0]!, '/dev/null', ['-X', 'POST']);
  t.equal(post.status, '405', 'GET and HEAD only');
  t.match(postern.log(), /"msg":"client certificate revoked"/);
});
