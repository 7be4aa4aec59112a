// Preloaded into the LNS by the L2TP sessions benchmark (never by Postern): on SIGUSR2, after a full
// garbage collection when node runs with --expose-gc, process.memoryUsage() is written to the file
// named by POSTERN_MEMORY_PROBE, so the benchmark reads the JavaScript heap beside the RSS.
import { renameSync, writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.POSTERN_MEMORY_PROBE;
if (file) {
  process.on('SIGUSR2', () => {
    globalThis.gc?.();
    const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size;
    writeFileSync(`${file}.tmp`, JSON.stringify({ ...process.memoryUsage(), newSpace }));
    renameSync(`${file}.tmp`, file); // whole, never half-written
  });
}
