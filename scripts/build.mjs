// Bundles the service into one file, dist/postern.js, with the web UI embedded, so that
// `node dist/postern.js` needs no node_modules. CommonJS output: the form a Node single
// executable application (SEA) takes, which the board images will use.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { buildWebui } from './build-webui.mjs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
})();
const webui = await buildWebui();
const assets = {
  'index.html': readFileSync('webui/index.html', 'utf8'),
  'app.js': readFileSync('webui/build/app.js', 'utf8'),
  'app.css': readFileSync('webui/build/app.css', 'utf8'),
};

mkdirSync('dist', { recursive: true });
// The repository is ESM ("type": "module"); the bundle is CommonJS, so dist/ says so for itself.
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
await build({
  entryPoints: ['firmware/main.ts'],
  outfile: 'dist/postern.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  define: {
    POSTERN_BUILD: JSON.stringify({ version: pkg.version, commit, builtAt: new Date().toISOString() }),
    POSTERN_ASSETS: JSON.stringify(assets),
  },
});
chmodSync('dist/postern.js', 0o755);

// The native data-plane driver sits beside the bundle.
const driver = 'drivers/build/Release/postern_dp.node';
if (existsSync(driver)) copyFileSync(driver, 'dist/postern_dp.node');
console.log(`built dist/postern.js (${pkg.version}, ${commit}); web UI ${((webui.js + webui.css + webui.html) / 1024).toFixed(1)} KB gzipped`);
