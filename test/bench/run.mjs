#!/usr/bin/env node
// `make bench`: runs each benchmark (never part of `make test`). BENCH_SECONDS shortens a run.
import { spawnSync } from 'node:child_process';

const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/bench/dataplane.ts'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
