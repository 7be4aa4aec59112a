// Bundles the service into one file, dist/postern.js, with the web UI embedded, so that
// `node dist/postern.js` needs no node_modules. CommonJS output: the form a Node single
// executable application (SEA) takes, which the board images will use.
//
// `--out DIR` bundles elsewhere than dist/ (the firmware build, scripts/firmware/, bundles per board),
// `--board FILE` embeds a board profile (already checked by the firmware build) and its name,
// `--version X.Y.Z` stamps another version than package.json's (a release build, the upgrade test's next build).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { buildWebui } from './build-webui.mjs';
import { buildPublicKey } from './upgrade-key.mjs';

const { values: options } = parseArgs({ options: { out: { type: 'string', default: 'dist' }, board: { type: 'string' }, version: { type: 'string' } } });
if (options.version !== undefined && !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(options.version)) throw new Error(`--version ${options.version}: expected X.Y.Z or X.Y.Z-suffix`);
const out = options.out;
const board = options.board ? JSON.parse(readFileSync(options.board, 'utf8')) : undefined;

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
})();
// dist/ keeps the web UI's build in webui/build/; another --out gets its own, beside its bundle.
const webuiDir = out === 'dist' ? 'webui/build' : join(out, 'webui');
const webui = await buildWebui(webuiDir);
// The files as the build compressed them (gzip and brotli, base64); the server unzips the plain form at start.
const manifest = JSON.parse(readFileSync(join(webuiDir, 'manifest.json'), 'utf8'));
const assets = { files: Object.fromEntries(manifest.files.map((name) => [name, { gzip: readFileSync(join(webuiDir, `${name}.gz`)).toString('base64'), br: readFileSync(join(webuiDir, `${name}.br`)).toString('base64') }])) };

mkdirSync(out, { recursive: true });
// The repository is ESM ("type": "module"); the bundle is CommonJS, so dist/ says so for itself.
writeFileSync(join(out, 'package.json'), '{ "type": "commonjs" }\n');
await build({
  entryPoints: ['firmware/main.ts'],
  outfile: join(out, 'postern.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  define: {
    POSTERN_BUILD: JSON.stringify({ version: options.version ?? pkg.version, commit, builtAt: new Date().toISOString(), ...(board ? { board: board.name } : {}) }),
    POSTERN_ASSETS: JSON.stringify(assets),
    // The key update bundles must be signed with (scripts/upgrade-key.mjs; dev: a development key).
    POSTERN_UPGRADE_KEY: JSON.stringify(buildPublicKey()),
    ...(board ? { POSTERN_BOARD: JSON.stringify(board) } : {}),
  },
});
chmodSync(join(out, 'postern.js'), 0o755);

// The native data-plane driver sits beside the bundle (the firmware build embeds its own instead).
const driver = 'drivers/build/Release/postern_dp.node';
if (out === 'dist' && existsSync(driver)) copyFileSync(driver, 'dist/postern_dp.node');
console.log(`built ${join(out, 'postern.js')} (${options.version ?? pkg.version}, ${commit}${board ? `, board ${board.name}` : ''}); web UI ${(webui.br / 1024).toFixed(1)} KB brotli, ${(webui.gzip / 1024).toFixed(1)} KB gzip, ${(webui.identity / 1024).toFixed(1)} KB plain`);
