import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const readIfThere = (path: string): string | undefined => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);

/**
 * The web UI's files. In the bundle esbuild embeds them (POSTERN_ASSETS, scripts/build.mjs), so the
 * single executable needs nothing beside it; from source they are read from webui/.
 */
declare const POSTERN_ASSETS: Record<string, string> | undefined;

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

const contentTypeOf = (name: string): string =>
  CONTENT_TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';

export const ASSET_NAMES = ['index.html', 'app.js', 'app.css'] as const;

/** From source: the page from webui/, the built script and styles from webui/build/ (scripts/build.mjs). */
const sourcePath = (dir: string, name: string) => (name === 'index.html' ? join(dir, name) : join(dir, 'build', name));

export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const dir = resolve(process.env['POSTERN_WEBUI_DIR'] ?? 'webui');
  for (const name of ASSET_NAMES) {
    const text = typeof POSTERN_ASSETS === 'undefined' ? readIfThere(sourcePath(dir, name)) : POSTERN_ASSETS[name];
    if (text === undefined) continue;
    assets.set(`/${name}`, { body: Buffer.from(text), contentType: contentTypeOf(name) });
  }
  const index = assets.get('/index.html');
  if (index) assets.set('/', index);
  return assets;
}
