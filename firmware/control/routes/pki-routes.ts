/**
 * The built-in CA: what it and the gateway certificate are, client certificates as password-protected
 * PKCS#12 bundles, revocation with a CRL (republished at once for the publication listener), issuing
 * again what was made before certificates named their CRL (issue 16). Client profiles are in
 * profile-routes.ts.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCrl, publishCrl } from '../../pki/crl-store.ts';
import { pemEncode } from '../../pki/der.ts';
import { certificatesInUse, expiryOf } from '../../pki/expiry.ts';
import { describeCertificate } from '../../pki/inspect.ts';
import { issueClientCertificate } from '../../pki/issue.ts';
import { loadIssued, saveIssued, type IssuedRecord } from '../../pki/issued-registry.ts';
import { exportPkcs12, importPkcs12 } from '../../pki/pkcs12.ts';
import { installPki, reissueGatewayCertificate, reissueReasons } from '../../pki/pki-store.ts';
import { publicationUrls } from '../../pki/publication-urls.ts';
import { isPosternError } from '../../util/errors.ts';
import { Secret } from '../../util/secret.ts';
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError, badRequest, notFound } from '../api-error.ts';
import { field, isNonEmptyString, isString } from '../http-io.ts';
import { passwordProblems } from '../password-rules.ts';
import type { Route } from '../router.ts';
import type { AcmeConfig } from '../../config/types.ts';
import { acmeNamesOf } from '../../pki/acme/acme-store.ts';
import { ownValue } from '../../util/json-input.ts';
import { applyOrThrow } from './config-routes.ts';

/** What the form shows before ACME was ever configured: off, Let's Encrypt, HTTP-01. */
const ACME_DEFAULTS: AcmeConfig = { enabled: false, directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory', challenge: 'http-01' };

export function pkiRoutes(ctx: ApiContext): Route[] {
  const load = () => loadIssued(ctx.stateDir);
  const save = (records: readonly IssuedRecord[]) => saveIssued(ctx.stateDir, records);
  const certificates = () => ctx.store.current().config.certificates;
  // The published CRL (what the listener serves), signed again first when stale.
  const crl = () => pemEncode('X509 CRL', ensureCrl(ctx.stateDir, ctx.pki().ca, new Date(ctx.now())).crl.der);
  const issueClient = (name: string, password: string) => {
    const problems = passwordProblems(password, { names: [name] });
    if (problems.length) throw new ApiError(422, ApiCode.weakPassword, 'the bundle password does not meet the rules', { field: 'password', problems });
    const pki = ctx.pki();
    const publication = publicationUrls(certificates());
    const issued = issueClientCertificate(pki.ca, { commonName: name, validityDays: 825, now: new Date(ctx.now()), ...(publication ? { publication } : {}) });
    const p12 = exportPkcs12({ certificatePem: issued.certificatePem, keyPem: issued.keyPem, caPem: pki.ca.certificatePem, password: new Secret(password), friendlyName: `${name} (Postern)` });
    const record: IssuedRecord = { name, serialHex: issued.serialHex, notAfter: describeCertificate(issued.certificatePem).notAfter.toISOString(), ...(publication ? { crlUrl: publication.crl } : {}) };
    ctx.logger.info('client certificate issued', { name, serial: issued.serialHex });
    return { p12, record };
  };
  const acmeView = () => ({ acme: certificates().acme ?? ACME_DEFAULTS, names: acmeNamesOf(certificates()), status: ctx.acme?.() ?? null });
  return [
    {
      method: 'GET', path: '/api/v1/certificates',
      handler: () => {
        const pki = ctx.pki();
        const show = (pem: string) => {
          const d = describeCertificate(pem);
          return { subject: d.subject, issuer: d.issuer, serialHex: d.serialHex, notBefore: d.notBefore, notAfter: d.notAfter, sans: d.sans, fingerprintSha256: d.fingerprintSha256 };
        };
        const urls = publicationUrls(certificates());
        const server = describeCertificate(pki.server.certificatePem);
        const imported = existsSync(join(ctx.stateDir, 'pki', 'server.imported'));
        const clients = load().map((r) => ({ ...r, needsReissue: urls !== undefined && r.revokedAt === undefined && r.reissuedAs === undefined && r.crlUrl !== urls.crl }));
        return {
          status: 200,
          body: {
            ca: { ...show(pki.ca.certificatePem), pem: pki.ca.certificatePem },
            server: { ...show(pki.server.certificatePem), imported, crlUrls: server.crlUrls, caIssuerUrls: server.caIssuerUrls, reissueReasons: imported ? [] : reissueReasons(server, urls, true) },
            clients,
            publication: urls ?? null,
            // Certificates in use and their expiry; `warning` within 30 days (issue 16).
            expiry: expiryOf(certificatesInUse(pki), new Date(ctx.now())),
          },
        };
      },
    },
    {
      method: 'POST', path: '/api/v1/certificates/clients',
      handler: async (c) => {
        const body = await c.body();
        const name = field(body, 'name', isNonEmptyString, 'a non-empty name');
        const password = field(body, 'password', isString, 'a string');
        const { p12, record } = issueClient(name, password);
        save([...load(), record]);
        return { file: p12, contentType: 'application/x-pkcs12', filename: `${name}.p12` };
      },
    },
    {
      // Issue 16: one step for a certificate made before certificates named their CRL. A new key and
      // serial under the same name (the old key was never kept); the old one stays valid until revoked,
      // as a Windows CA's re-enrolment leaves it, so a device is not cut off before it has the new one.
      method: 'POST', path: '/api/v1/certificates/clients/:serial/reissue',
      handler: async (c) => {
        const password = field(await c.body(), 'password', isString, 'a string');
        const serial = (c.params['serial'] ?? '').toLowerCase();
        const records = load();
        const old = records.find((r) => r.serialHex === serial);
        if (!old) throw notFound(`certificate ${serial}`);
        if (old.revokedAt !== undefined) throw new ApiError(409, ApiCode.conflict, 'that certificate is revoked: issue a new one instead');
        const { p12, record } = issueClient(old.name, password);
        old.reissuedAs = record.serialHex;
        save([...records, record]);
        ctx.logger.info('client certificate issued again', { name: old.name, serial: record.serialHex, replaces: old.serialHex });
        return { file: p12, contentType: 'application/x-pkcs12', filename: `${old.name}.p12` };
      },
    },
    // ACME (issue 16): the settings, changed as one configuration transaction, and what came of them.
    { method: 'GET', path: '/api/v1/certificates/acme', handler: () => ({ status: 200, body: acmeView() }) },
    {
      method: 'PUT', path: '/api/v1/certificates/acme',
      handler: async (c) => {
        const body = await c.body();
        const current = ctx.store.current().config;
        const before = current.certificates.acme ?? ACME_DEFAULTS;
        const pick = (key: keyof AcmeConfig) => (ownValue(body, key) === undefined ? before[key] : ownValue(body, key));
        const email = pick('email');
        // Sent as it came: the schema names what is wrong at certificates.acme.<field>.
        const acme = { enabled: pick('enabled'), directoryUrl: pick('directoryUrl'), challenge: pick('challenge'), ...(email === '' || email === undefined ? {} : { email }) } as AcmeConfig;
        const next = { ...current, certificates: { ...current.certificates, acme } };
        const applied = await applyOrThrow(ctx, next, `ACME ${acme.enabled === true ? 'on' : 'off'}`);
        return { status: 200, body: { ...applied, ...acmeView() } };
      },
    },
    {
      method: 'POST', path: '/api/v1/certificates/server/reissue',
      handler: () => {
        try {
          const pki = reissueGatewayCertificate(ctx.stateDir, certificates(), ctx.logger.child('pki'), new Date(ctx.now()));
          const d = describeCertificate(pki.server.certificatePem);
          // New connections get it at once; sessions up keep theirs.
          ctx.gatewayCertificateChanged?.();
          return { status: 200, body: { ok: true, serialHex: d.serialHex, notAfter: d.notAfter, crlUrls: d.crlUrls, caIssuerUrls: d.caIssuerUrls } };
        } catch (error) {
          if (isPosternError(error)) throw new ApiError(409, ApiCode.conflict, error.message);
          throw error;
        }
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
        // Republished at once: the publication listener serves the file as soon as it is replaced.
        const published = publishCrl(ctx.stateDir, ctx.pki().ca, new Date(ctx.now()));
        ctx.logger.info('client certificate revoked', { serial, crlNumber: published.crlNumber.toString() });
        return { status: 200, body: { ok: true, crl: pemEncode('X509 CRL', published.der), crlNumber: published.crlNumber.toString() } };
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
        // The gateway's own is served to new connections at once; a new CA changes who is trusted, so it waits for a restart.
        if (body.target === 'server') ctx.gatewayCertificateChanged?.();
        return { status: 200, body: { ok: true, subject: x509.subject, notAfter: x509.validTo, ...(body.target === 'ca' ? { note: 'IKEv2 and SSTP use it from their next start' } : {}) } };
      },
    },
    { method: 'GET', path: '/api/v1/certificates/crl', handler: () => ({ file: crl(), contentType: 'application/pkix-crl', filename: 'postern.crl' }) },
    // What another gateway adds to its trusted CAs to accept this one's certificate (sites by certificate).
    { method: 'GET', path: '/api/v1/certificates/ca', handler: () => ({ file: ctx.pki().ca.certificatePem, contentType: 'application/x-pem-file', filename: `${ctx.store.current().config.system.hostname}-ca.pem` }) },
  ];
}
