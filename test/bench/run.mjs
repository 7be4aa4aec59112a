#!/usr/bin/env node
// `make bench`: runs each benchmark (never part of `make test`). BENCH_SECONDS shortens a run.
import { spawnSync } from 'node:child_process';

let failed = 0;
for (const bench of ['test/bench/sa-memory.ts', 'test/bench/dataplane.ts', 'test/bench/ike.ts', 'test/bench/ike-install.ts', 'test/bench/ike-engine-pair.ts', 'test/bench/ikev1.ts', 'test/bench/sstp.ts', 'test/bench/l2tp.ts', 'test/bench/pptp.ts', 'test/bench/pptp-calls.ts', 'test/bench/l2tp-sessions.ts', 'test/bench/churn.ts', 'test/bench/radius.ts', 'test/bench/fleet.ts']) {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', bench], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
