/*
 * The gateway's V8 young generation stays at its first size (two 1 MB semi-spaces) instead of growing
 * to two 16 MB ones under a burst of logins and keeping them: 30 MB of RSS that live objects never
 * need, which at 2,000 SSTP calls was 15 KB of every call's share (issue 23). `postern run` sets it
 * before the service allocates. --semi-space-growth-factor is read at each growth, so setting it at run
 * time works where command-line flags cannot reach (the single executable, the init scripts);
 * --max-semi-space-size is read only when the heap is made. The cost is more scavenges, each of a
 * young generation that is mostly garbage (the CPU per call is in the SSTP bench's line).
 */
import { setFlagsFromString } from 'node:v8';

export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}

// `postern run`: set before the rest of Postern loads (main.ts imports this module first): loading it
// alone grew the young generation to 8 MB semi-spaces by the time runCommand starts.
if (process.argv[2] === 'run') keepYoungGenerationSmall();
