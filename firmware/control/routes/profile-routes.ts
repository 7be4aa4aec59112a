/**
 * Client profiles for a VPN user (issue 17): what there is to download, with how to install each,
 * and the downloads. Password login (EAP-MSCHAPv2): a GET, `?allUsers=true` for a Windows connection
 * in the all-users phonebook. Certificate login: a POST with the PKCS#12 password, which issues the
 * user a new client certificate (recorded under the user; the key is never kept, so each download
 * is a new certificate) and puts it in the profile.
 */
import { loadIssued, saveIssued } from '../../pki/issued-registry.ts';
import { publicationUrls } from '../../pki/publication-urls.ts';
import { clientIdentity } from '../../profiles/client-identity.ts';
import { ANDROID_L2TP_NOTE, CLIENT_KINDS, clientProfile, isL2tpKind, isPptpKind, PPTP_REMOVED_NOTES, ProfileError, profileInput, type ClientCertificate, type ClientKind } from '../../profiles/client-profiles.ts';
import type { PosternConfig } from '../../config/types.ts';
import { issueUserCertificate } from '../../profiles/user-certificate.ts';
import { Secret } from '../../util/secret.ts';
import type { ApiContext } from '../api-context.ts';
import { ApiCode, ApiError, badRequest, notFound } from '../api-error.ts';
import { field, isString } from '../http-io.ts';
import { passwordProblems } from '../password-rules.ts';
import type { RequestContext, Route } from '../router.ts';

const LABELS: Record<ClientKind, string> = {
  windows: 'Windows', apple: 'Apple (iOS, macOS)', android: 'Android (strongSwan)', linux: 'Linux (NetworkManager)',
  'windows-l2tp': 'Windows (L2TP/IPsec)', 'apple-l2tp': 'Apple (L2TP/IPsec)', 'linux-l2tp': 'Linux (NetworkManager, L2TP/IPsec)',
  'windows-pptp': 'Windows (PPTP, insecure)', 'linux-pptp': 'Linux (NetworkManager, PPTP, insecure)',
};

/** Issue 20: the L2TP/IPsec profiles only while the listener is on; their certificates follow its IPsec authentication. */
const offered = (config: PosternConfig, kind: ClientKind): boolean => (isL2tpKind(kind) ? config.listeners.l2tp.enabled : isPptpKind(kind) ? config.listeners.pptp.enabled : true);
/** PPTP signs in with MS-CHAPv2 passwords only (issue 22). */
const certificateFor = (config: PosternConfig, kind: ClientKind): boolean =>
  isPptpKind(kind) ? false : isL2tpKind(kind) ? config.listeners.l2tp.ipsec?.auth === 'certificate' : config.listeners.ikev2.auth === 'certificate';

export function profileRoutes(ctx: ApiContext): Route[] {
  const userOf = (c: RequestContext) => {
    const config = ctx.store.current().config;
    const user = config.users.find((u) => u.name === c.params['user']);
    if (!user) throw notFound(`user '${c.params['user']}'`);
    return { config, user: user.name };
  };
  const kindOf = (c: RequestContext): ClientKind => {
    const kind = c.params['kind'] as ClientKind;
    if (!CLIENT_KINDS.includes(kind)) throw badRequest(`client kind must be one of ${CLIENT_KINDS.join(', ')}`, { field: 'kind' });
    return kind;
  };
  const profile = (kind: ClientKind, ...args: Parameters<typeof profileInput>) => {
    try {
      return clientProfile(kind, profileInput(...args), undefined, new Date(ctx.now()));
    } catch (error) {
      if (error instanceof ProfileError) throw new ApiError(409, ApiCode.conflict, error.message);
      throw error;
    }
  };
  const download = (p: ReturnType<typeof profile>) => ({ file: p.body, contentType: p.contentType, filename: p.filename });
  return [
    {
      method: 'GET', path: '/api/v1/profiles/:user',
      handler: (c) => {
        const { config, user } = userOf(c);
        const certificateLogin = certificateFor(config, 'windows');
        const kinds: Array<Record<string, string>> = CLIENT_KINDS.filter((kind) => offered(config, kind)).map((kind) => {
          const login = certificateFor(config, kind) ? 'certificate' : 'password';
          // The install text depends only on the kind of login, not on the certificate itself.
          const placeholder: ClientCertificate | undefined = login === 'certificate' ? { p12: Buffer.alloc(0), identity: clientIdentity(config, user) } : undefined;
          try {
            const p = clientProfile(kind, profileInput(config, ctx.pki(), user, placeholder ? { clientCertificate: placeholder } : {}), undefined, new Date(ctx.now()));
            return { kind, label: LABELS[kind], login, filename: p.filename, install: p.install };
          } catch (error) {
            if (error instanceof ProfileError) return { kind, label: LABELS[kind], login, error: error.message };
            throw error;
          }
        });
        // Android dropped its L2TP client: said in the list, with nothing to download.
        if (config.listeners.l2tp.enabled) kinds.push({ kind: 'android-l2tp', label: 'Android (L2TP/IPsec)', note: ANDROID_L2TP_NOTE });
        // Apple and Android removed their PPTP clients (issue 22).
        if (config.listeners.pptp.enabled) kinds.push({ kind: 'apple-pptp', label: 'Apple (PPTP)', note: PPTP_REMOVED_NOTES['apple-pptp'] }, { kind: 'android-pptp', label: 'Android (PPTP)', note: PPTP_REMOVED_NOTES['android-pptp'] });
        const identity = kinds.some((k) => k['login'] === 'certificate') ? clientIdentity(config, user) : undefined;
        return { status: 200, body: { user, login: certificateLogin ? 'certificate' : 'password', ...(identity ? { identity } : {}), kinds } };
      },
    },
    {
      method: 'GET', path: '/api/v1/profiles/:user/:kind',
      handler: (c) => {
        const kind = kindOf(c);
        const { config, user } = userOf(c);
        if (isPptpKind(kind) && !offered(config, kind)) throw new ApiError(409, ApiCode.conflict, 'PPTP is not enabled on this gateway');
        if (certificateFor(config, kind)) throw new ApiError(409, ApiCode.conflict, 'certificate login: POST with a password for the certificate bundle to issue the user\'s certificate into the profile', { field: 'password' });
        return download(profile(kind, config, ctx.pki(), user, { allUserConnection: c.query.get('allUsers') === 'true' }));
      },
    },
    {
      method: 'POST', path: '/api/v1/profiles/:user/:kind',
      handler: async (c) => {
        const kind = kindOf(c);
        const body = await c.body();
        const { config, user } = userOf(c);
        if (!offered(config, kind)) throw new ApiError(409, ApiCode.conflict, `${isPptpKind(kind) ? 'PPTP' : 'L2TP/IPsec'} is not enabled on this gateway`);
        const allUserConnection = (body as { allUserConnection?: unknown }).allUserConnection === true;
        if (!certificateFor(config, kind)) return download(profile(kind, config, ctx.pki(), user, { allUserConnection }));
        const password = field(body, 'password', isString, 'a string');
        const problems = passwordProblems(password, { names: [user] });
        if (problems.length) throw new ApiError(422, ApiCode.weakPassword, 'the certificate password does not meet the rules', { field: 'password', problems });
        const publication = publicationUrls(config.certificates);
        const issued = issueUserCertificate(ctx.pki(), config, user, new Secret(password), new Date(ctx.now()), publication);
        const p = profile(kind, config, ctx.pki(), user, { allUserConnection, clientCertificate: issued.clientCertificate });
        saveIssued(ctx.stateDir, [...loadIssued(ctx.stateDir), issued.record]);
        ctx.logger.info('client certificate issued with a profile', { user, kind, serial: issued.record.serialHex });
        return download(p);
      },
    },
  ];
}
