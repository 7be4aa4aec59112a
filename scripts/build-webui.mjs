// Builds the web UI (webui/src, Preact) into webui/build/app.js and app.css: minified, one file each,
// small enough to embed in the service bundle. Returns their sizes (bytes, gzipped).
import { mkdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export async function buildWebui() {
  mkdirSync('webui/build', { recursive: true });
  await build({
    entryPoints: { app: 'webui/src/main.tsx' },
    outdir: 'webui/build',
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  });
  await build({ entryPoints: { app: 'webui/src/style.css' }, outdir: 'webui/build', bundle: true, minify: true, logLevel: 'warning' });
  const size = (f) => gzipSync(readFileSync(f)).length;
  return { js: size('webui/build/app.js'), css: size('webui/build/app.css'), html: size('webui/index.html') };
}
