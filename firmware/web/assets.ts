import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { negotiateCoding, type Coding } from './content-coding.ts';

/**
 * The web UI's files, as scripts/build-webui.mjs makes them: index.html, the script and the styles
 * under content-hashed names, each with its gzip and brotli forms made at build time. In the bundle
 * esbuild embeds them (POSTERN_ASSETS, scripts/build.mjs: the compressed forms only, the plain one
 * is unzipped at start), so the single executable needs nothing beside it; from source they are read
 * from webui/build/, as its manifest.json lists them.
 */
declare const POSTERN_ASSETS: { files: Record<string, { gzip: string; br: string }> } | undefined;

export interface Asset {
  readonly contentType: string;
  /** The forms held: identity always, gzip and br when the build made them. */
  readonly bodies: Readonly<Partial<Record<Coding, Buffer>>> & { readonly identity: Buffer };
  /** A name with its content's hash never changes meaning: the browser keeps it a year, unasked. */
  readonly immutable: boolean;
  /** Strong validator of the identity form; the coded forms get a suffix (RFC 9110 §8.8.3.3). */
  readonly etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

const contentTypeOf = (name: string): string => CONTENT_TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';

/** app.<12 hex>.js: named after its content by the build. */
const isHashed = (name: string): boolean => /\.[0-9a-f]{12}\.[a-z]+$/.test(name);

const readIfThere = (path: string): Buffer | undefined => (existsSync(path) ? readFileSync(path) : undefined);

function asset(name: string, bodies: Asset['bodies']): Asset {
  const etag = `"${createHash('sha256').update(bodies.identity).digest('base64url').slice(0, 22)}"`;
  return { contentType: contentTypeOf(name), bodies, immutable: isHashed(name), etag };
}

export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (typeof POSTERN_ASSETS !== 'undefined') {
    for (const [name, f] of Object.entries(POSTERN_ASSETS.files)) {
      const gzip = Buffer.from(f.gzip, 'base64');
      assets.set(`/${name}`, asset(name, { identity: gunzipSync(gzip), gzip, br: Buffer.from(f.br, 'base64') }));
    }
  } else {
    const dir = join(resolve(process.env['POSTERN_WEBUI_DIR'] ?? 'webui'), 'build');
    const manifest = readIfThere(join(dir, 'manifest.json'));
    const names = manifest ? ((JSON.parse(manifest.toString('utf8')) as { files?: unknown }).files ?? []) : [];
    for (const name of Array.isArray(names) ? names : []) {
      if (typeof name !== 'string' || name.includes('/')) continue;
      const identity = readIfThere(join(dir, name));
      if (!identity) continue;
      const gzip = readIfThere(join(dir, `${name}.gz`));
      const br = readIfThere(join(dir, `${name}.br`));
      assets.set(`/${name}`, asset(name, { identity, ...(gzip ? { gzip } : {}), ...(br ? { br } : {}) }));
    }
  }
  const index = assets.get('/index.html');
  if (index) assets.set('/', index);
  return assets;
}

/**
 * Answers GET/HEAD for one asset: the coding the client accepts best (Vary: Accept-Encoding, since
 * the answer depends on it), a year's immutable caching for hashed names and revalidation for the
 * page that names them (no-cache), and 304 when the client's copy is current.
 */
export function serveAsset(req: IncomingMessage, res: ServerResponse, a: Asset): void {
  const available = (Object.keys(a.bodies) as Coding[]).filter((c) => a.bodies[c] !== undefined);
  const coding = negotiateCoding(req.headers['accept-encoding'], available);
  const body = a.bodies[coding] ?? a.bodies.identity;
  const etag = coding === 'identity' ? a.etag : `${a.etag.slice(0, -1)}-${coding}"`;
  const headers: Record<string, string | number> = {
    'Content-Type': a.contentType,
    'Cache-Control': a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    Vary: 'Accept-Encoding',
    ETag: etag,
  };
  if (coding !== 'identity') headers['Content-Encoding'] = coding;
  const known = req.headers['if-none-match'];
  if (known !== undefined && known.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag || tag.trim() === '*')) {
    res.writeHead(304, headers);
    return void res.end();
  }
  res.writeHead(200, { ...headers, 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}
