// Driver memory per SA: resident memory before and after holding 1,000 SAs of each kind.
// (OpenSSL cipher contexts are made once per SA; this is their cost.)
import { randomBytes } from 'node:crypto';
import { NativeSa } from '../../firmware/dataplane/native.ts';
import type { EspSuite } from '../../firmware/dataplane/types.ts';
import { Secret } from '../../firmware/util/secret.ts';

const COUNT = 1000;
const kinds: Array<[EspSuite, number, number]> = [['aes-gcm-128', 20, 0], ['aes-cbc-256-hmac-sha256-128', 32, 32], ['chacha20-poly1305', 36, 0]];

for (const [suite, encBytes, integBytes] of kinds) {
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const held: NativeSa[] = [];
  for (let i = 0; i < COUNT; i++) {
    held.push(NativeSa.create({
      spi: 0x1000 + i, suite, esn: true, replayWindow: 4096,
      encryptionKey: new Secret(randomBytes(encBytes)),
      ...(integBytes ? { integrityKey: new Secret(randomBytes(integBytes)) } : {}),
    }));
  }
  const perSa = (process.memoryUsage().rss - before) / COUNT;
  console.log(`bench sa-memory ${suite} ${Math.round(perSa)} bytes per SA (${((perSa * COUNT) / 1024 / 1024).toFixed(1)} MiB per ${COUNT}, replay window 4096)`);
  held.length = 0;
}
