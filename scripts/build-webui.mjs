// Builds the web UI (webui/src, Preact) into webui/build/app.js and app.css: minified, one file each,
// small enough to embed in the service bundle. Returns their sizes (bytes, gzipped). `outdir` lets
// builds that run side by side (the firmware build, one per board) each write their own copy.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export async function buildWebui(outdir = 'webui/build') {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: { app: 'webui/src/main.tsx' },
    outdir,
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  });
  await build({ entryPoints: { app: 'webui/src/style.css' }, outdir, bundle: true, minify: true, logLevel: 'warning' });
  const size = (f) => gzipSync(readFileSync(f)).length;
  return { js: size(join(outdir, 'app.js')), css: size(join(outdir, 'app.css')), html: size('webui/index.html') };
}
