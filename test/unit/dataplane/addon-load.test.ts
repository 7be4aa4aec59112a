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
