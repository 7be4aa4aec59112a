// The native driver builds (make build) and loads, from the build tree and from beside the bundle.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import t from 'tap';

const require = createRequire(import.meta.url);

for (const path of ['../../../drivers/build/Release/postern_dp.node', '../../../dist/postern_dp.node']) {
  t.test(`loads ${path.replace('../../../', '')}`, { skip: existsSync(new URL(path, import.meta.url)) ? false : 'not built: run make build' }, async (t) => {
    const addon = require(path) as { version(): string; abi: number };
    t.match(addon.version(), /^postern-dp \d+\.\d+\.\d+$/);
    t.equal(addon.abi, 1);
  });
}

// Symbols bind lazily: a driver function the build left out only fails when first called, deep in
// a lab test (a peer dying with "undefined symbol"). Every dp_ symbol must be defined in the addon.
const built = new URL('../../../drivers/build/Release/postern_dp.node', import.meta.url);
t.test('the addon defines every one of its own dp_ functions', { skip: existsSync(built) ? false : 'not built: run make build' }, async (t) => {
  const { execFileSync } = await import('node:child_process');
  const undefinedSymbols = execFileSync('nm', ['-D', '--undefined-only', built.pathname], { encoding: 'utf8' }).split('\n').map((l) => l.trim().split(/\s+/).pop() ?? '');
  t.same(undefinedSymbols.filter((s) => s.startsWith('dp_')), [], 'no dp_ symbol left undefined');
  t.ok(undefinedSymbols.some((s) => s.startsWith('napi_')), 'the check sees the addon\'s imports (N-API comes from node)');
});
