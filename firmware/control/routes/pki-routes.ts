/**
 * The built-in CA: what it and the gateway certificate are, client certificates as password-protected
 * PKCS#12 bundles, revocation with a CRL, and client profiles for a user (one download per client).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../config/atomic-file.ts';
import { createCrl, type RevokedCertificate } from '../../pki/crl.ts';
import { describeCertificate } from '../../pki/inspect.ts';
import { issueClientCertificate } from '../../pki/issue.ts';
import { exportPkcs12, importPkcs12 } from '../../pki/pkcs12.ts';
import { installPki } from '../../pki/pki-store.ts';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { CLIENT_KINDS, clientProfile, ProfileError, profileInput, type ClientKind } from '../../profiles/client-profiles.ts';
import { Secret } from '../../util/secret.ts';
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError, badRequest, notFound } from '../api-error.ts';
import { field, isNonEmptyString, isString } from '../http-io.ts';
import { passwordProblems } from '../password-rules.ts';
import type { Route } from '../router.ts';

interface IssuedRecord {
  readonly name: string;
  readonly serialHex: string;
  readonly notAfter: string;
  revokedAt?: string;
}

export function pkiRoutes(ctx: ApiContext): Route[] {
  const dir = join(ctx.stateDir, 'pki');
  const registry = join(dir, 'issued.json');
  const load = (): IssuedRecord[] => (existsSync(registry) ? (JSON.parse(readFileSync(registry, 'utf8')) as IssuedRecord[]) : []);
  const save = (records: IssuedRecord[]) => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(registry, `${JSON.stringify(records, null, 2)}\n`, 0o600);
  };
  const crl = () => {
    const revoked: RevokedCertificate[] = load().filter((r) => r.revokedAt).map((r) => ({ serialHex: r.serialHex, revokedAt: new Date(r.revokedAt!) }));
    return createCrl(ctx.pki().ca, revoked, { now: new Date(ctx.now()), nextUpdateDays: 7 });
  };
  return [
    {
      method: 'GET', path: '/api/v1/certificates',
      handler: () => {
        const pki = ctx.pki();
        const show = (pem: string) => {
          const d = describeCertificate(pem);
          return { subject: d.subject, issuer: d.issuer, serialHex: d.serialHex, notBefore: d.notBefore, notAfter: d.notAfter, sans: d.sans, fingerprintSha256: d.fingerprintSha256 };
        };
        return { status: 200, body: { ca: { ...show(pki.ca.certificatePem), pem: pki.ca.certificatePem }, server: show(pki.server.certificatePem), clients: load() } };
      },
    },
    {
      method: 'POST', path: '/api/v1/certificates/clients',
      handler: async (c) => {
        const body = await c.body();
        const name = field(body, 'name', isNonEmptyString, 'a non-empty name');
        const password = field(body, 'password', isString, 'a string');
        const problems = passwordProblems(password, { names: [name] });
        if (problems.length) throw new ApiError(422, ApiCode.weakPassword, 'the bundle password does not meet the rules', { field: 'password', problems });
        const pki = ctx.pki();
        const issued = issueClientCertificate(pki.ca, { commonName: name, validityDays: 825, now: new Date(ctx.now()) });
        const p12 = exportPkcs12({ certificatePem: issued.certificatePem, keyPem: issued.keyPem, caPem: pki.ca.certificatePem, password: new Secret(password), friendlyName: `${name} (Postern)` });
        save([...load(), { name, serialHex: issued.serialHex, notAfter: describeCertificate(issued.certificatePem).notAfter.toISOString() }]);
        ctx.logger.info('client certificate issued', { name, serial: issued.serialHex });
        return { file: p12, contentType: 'application/x-pkcs12', filename: `${name}.p12` };
      },
    },
    {
      method: 'POST', path: '/api/v1/certificates/revoke',
      handler: async (c) => {
        const serial = field(await c.body(), 'serialHex', isNonEmptyString, 'the serial in hex').toLowerCase();
        const records = load();
        const record = records.find((r) => r.serialHex === serial);
        if (!record) throw notFound(`certificate ${serial}`);
        record.revokedAt ??= new Date(ctx.now()).toISOString();
        save(records);
        ctx.logger.info('client certificate revoked', { serial });
        return { status: 200, body: { ok: true, crl: crl() } };
      },
    },
    {
      // An outside certificate: the gateway's (a public CA's, PEM or PKCS#12) or a CA to sign with.
      method: 'POST', path: '/api/v1/certificates/import',
      handler: async (c) => {
        const body = (await c.body()) as { target?: unknown; pkcs12?: unknown; password?: unknown; certificatePem?: unknown; keyPem?: unknown; chainPem?: unknown };
        if (body.target !== 'server' && body.target !== 'ca') throw badRequest("'target' must be 'server' or 'ca'", { field: 'target' });
        let cert: string;
        let key: Secret<string>;
        let chain: string[] = [];
        try {
          if (typeof body.pkcs12 === 'string') {
            const bundle = importPkcs12(Buffer.from(body.pkcs12, 'base64'), new Secret(typeof body.password === 'string' ? body.password : ''));
            [cert, key, chain] = [bundle.certificatePem, bundle.keyPem, bundle.chainPems];
          } else if (typeof body.certificatePem === 'string' && typeof body.keyPem === 'string') {
            [cert, key] = [body.certificatePem, new Secret(body.keyPem)];
            if (typeof body.chainPem === 'string') chain = body.chainPem.split(/(?=-----BEGIN CERTIFICATE-----)/).filter((x) => x.includes('BEGIN'));
          } else throw badRequest("send 'pkcs12' (base64) with its 'password', or 'certificatePem' and 'keyPem'");
        } catch (error) {
          if (error instanceof ApiError) throw error;
          throw new ApiError(422, ApiCode.badRequest, `could not read the certificate: ${error instanceof Error ? error.message : String(error)}`, { field: 'pkcs12' });
        }
        const x509 = new X509Certificate(cert);
        if (!x509.checkPrivateKey(createPrivateKey(key.reveal()))) throw new ApiError(422, ApiCode.badRequest, 'the key does not belong to the certificate', { field: 'keyPem' });
        const now = ctx.now();
        if (Date.parse(x509.validTo) < now || Date.parse(x509.validFrom) > now) throw new ApiError(422, ApiCode.badRequest, 'the certificate is not valid now', { field: 'certificatePem' });
        if (body.target === 'ca' && !x509.ca) throw new ApiError(422, ApiCode.badRequest, 'that is not a CA certificate', { field: 'certificatePem' });
        installPki(ctx.stateDir, body.target, cert, key, chain);
        ctx.logger.info('certificate imported', { target: body.target, subject: x509.subject.replace(/\n/g, ', ') });
        return { status: 200, body: { ok: true, subject: x509.subject, notAfter: x509.validTo, note: 'IKEv2 and SSTP use it from their next start' } };
      },
    },
    { method: 'GET', path: '/api/v1/certificates/crl', handler: () => ({ file: crl(), contentType: 'application/pkix-crl', filename: 'postern.crl' }) },
    {
      method: 'GET', path: '/api/v1/profiles/:user/:kind',
      handler: (c) => {
        const kind = c.params['kind'] as ClientKind;
        if (!CLIENT_KINDS.includes(kind)) throw badRequest(`client kind must be one of ${CLIENT_KINDS.join(', ')}`);
        const config = ctx.store.current().config;
        const user = config.users.find((u) => u.name === c.params['user']);
        if (!user) throw notFound(`user '${c.params['user']}'`);
        try {
          const profile = clientProfile(kind, profileInput(config, ctx.pki(), user.name));
          return { file: profile.body, contentType: profile.contentType, filename: profile.filename };
        } catch (error) {
          if (error instanceof ProfileError) throw new ApiError(409, ApiCode.conflict, error.message);
          throw error;
        }
      },
    },
  ];
}
