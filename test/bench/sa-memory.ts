// Driver memory per child: resident memory before and after holding 1,000 SA pairs of each kind, as
// a child holds them: an outbound SA (no replay window) that has sealed a packet, and an inbound one
// (4096-packet window) that has opened it, so each has made the OpenSSL contexts it uses.
import { randomBytes } from 'node:crypto';
import { NativeSa } from '../../firmware/dataplane/native.ts';
import type { EspSuite } from '../../firmware/dataplane/types.ts';
import { Secret } from '../../firmware/util/secret.ts';

const COUNT = Number(process.env['BENCH_SA_MEMORY_COUNT'] ?? 1000);
const kinds: Array<[EspSuite, number, number]> = [['aes-gcm-128', 20, 0], ['aes-cbc-256-hmac-sha256-128', 32, 32], ['chacha20-poly1305', 36, 0]];

function pair(suite: EspSuite, encBytes: number, integBytes: number, spi: number): NativeSa[] {
  const keys = { encryptionKey: new Secret(randomBytes(encBytes)), ...(integBytes ? { integrityKey: new Secret(randomBytes(integBytes)) } : {}) };
  const out = NativeSa.create({ spi, suite, esn: true, replayWindow: 0, ...keys });
  const inbound = NativeSa.create({ spi, suite, esn: true, replayWindow: 4096, ...keys });
  const sealed = out.encrypt(Buffer.alloc(64), 4);
  if (!sealed.ok || !inbound.decrypt(sealed.value).ok) throw new Error(`${suite}: the pair does not carry a packet`);
  return [out, inbound];
}

pair('aes-gcm-128', 20, 0, 1); // the driver loaded and OpenSSL's tables made before anything is measured
for (const [suite, encBytes, integBytes] of kinds) {
  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  const held: NativeSa[] = [];
  for (let i = 0; i < COUNT; i++) held.push(...pair(suite, encBytes, integBytes, 0x1000 + i));
  const perChild = (process.memoryUsage().rss - before) / COUNT;
  console.log(`bench sa-memory ${suite} ${Math.round(perChild)} bytes per child (two SAs that carried a packet; ${((perChild * COUNT) / 1024 / 1024).toFixed(1)} MiB per ${COUNT}, inbound replay window 4096)`);
  held.length = 0;
}
