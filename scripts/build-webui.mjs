// Builds the web UI (webui/src, Preact) into `outdir` (webui/build/ by default): the script and the
// styles minified, one file each, named after their content (app.<hash>.js, app.<hash>.css, so a
// browser may keep them for a year), index.html pointing at them, and beside each file its gzip
// (.gz) and brotli (.br) forms, compressed once here rather than per request. manifest.json, written
// last, lists what belongs to this build; the server reads only those (firmware/web/assets.ts).
// `outdir` lets builds that run side by side (the firmware build, one per board) each write their own.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const compress = (body) => ({
  gz: gzipSync(body, { level: 9 }),
  br: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
});

/** Written under a temporary name and renamed: a server starting meanwhile never reads half a file. */
const writeAtomic = (path, body) => {
  writeFileSync(`${path}.tmp-${process.pid}`, body);
  renameSync(`${path}.tmp-${process.pid}`, path);
};

export async function buildWebui(outdir = 'webui/build') {
  mkdirSync(outdir, { recursive: true });
  const common = { bundle: true, minify: true, write: false, legalComments: 'none', logLevel: 'warning' };
  const js = await build({ ...common, entryPoints: ['webui/src/main.tsx'], outfile: 'app.js', format: 'iife', target: ['chrome100', 'firefox100', 'safari15'], jsx: 'automatic', jsxImportSource: 'preact' });
  const css = await build({ ...common, entryPoints: ['webui/src/style.css'], outfile: 'app.css' });
  const hashed = (ext, body) => `app.${createHash('sha256').update(body).digest('hex').slice(0, 12)}.${ext}`;
  const script = Buffer.from(js.outputFiles[0].contents);
  const styles = Buffer.from(css.outputFiles[0].contents);
  const names = { js: hashed('js', script), css: hashed('css', styles) };
  const page = readFileSync('webui/index.html', 'utf8').replace('/app.js', `/${names.js}`).replace('/app.css', `/${names.css}`);
  if (!page.includes(names.js) || !page.includes(names.css)) throw new Error('webui/index.html must refer to /app.js and /app.css');
  const files = { 'index.html': Buffer.from(page), [names.js]: script, [names.css]: styles };
  const sizes = {};
  for (const [name, body] of Object.entries(files)) {
    const { gz, br } = compress(body);
    writeAtomic(join(outdir, name), body);
    writeAtomic(join(outdir, `${name}.gz`), gz);
    writeAtomic(join(outdir, `${name}.br`), br);
    sizes[name] = { identity: body.length, gzip: gz.length, br: br.length };
  }
  writeAtomic(join(outdir, 'manifest.json'), `${JSON.stringify({ files: Object.keys(files) }, null, 1)}\n`);
  removeStale(outdir, new Set(Object.keys(files)));
  const total = (coding) => Object.values(sizes).reduce((a, s) => a + s[coding], 0);
  // `js`, `css`, `html` (gzipped) as before; `br`/`gzip`/`identity`: what the three files weigh in all.
  return { js: sizes[names.js].gzip, css: sizes[names.css].gzip, html: sizes['index.html'].gzip, br: total('br'), gzip: total('gzip'), identity: total('identity'), files: sizes };
}

/**
 * Files of earlier builds: left for ten minutes (a server that started just before may still be
 * reading them), then removed, so the directory does not grow without end.
 */
function removeStale(outdir, keep) {
  const before = Date.now() - 10 * 60_000;
  for (const name of readdirSync(outdir)) {
    const base = name.replace(/\.(gz|br)$/, '');
    const ours = /^app(\.[0-9a-f]{12})?\.(js|css)$/.test(base) || /\.tmp-\d+$/.test(name);
    if (!ours || keep.has(base)) continue;
    try {
      if (statSync(join(outdir, name)).mtimeMs < before) unlinkSync(join(outdir, name));
    } catch {
      // removed by a build beside this one
    }
  }
}
