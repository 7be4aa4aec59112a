import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { BUNDLE_MAGIC, decodePrefix, encodeBundle, FIXED_PREFIX_BYTES, RefusalCode, type BoxIdentity } from '../../../firmware/upgrade/bundle-format.ts';
import { BundleReader } from '../../../firmware/upgrade/bundle-reader.ts';
import { compareVersions } from '../../../firmware/upgrade/version-order.ts';

const vendor = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const box: BoxIdentity = { arch: 'arm64', board: 'nanopi-r5s', floor: '0.2.0', maxPayloadBytes: 64 * 1024 };
const payload = Buffer.from('#!/bin/sh\necho postern 0.3.0\n'.repeat(40));
const header = { version: '0.3.0', arch: 'arm64' as const, boards: ['nanopi-r5s', 'generic-arm64'], minVersion: '0.2.0', commit: 'abc1234', builtAt: '2026-12-05T00:00:00Z' };
const good = encodeBundle(header, payload, vendor.privateKey);

/** The whole bundle through a reader in chunks of `size`: the payload bytes it let out and the verdict. */
function readAll(bytes: Buffer, size: number, key: KeyObject = vendor.publicKey, identity: BoxIdentity = box): { out: Buffer; code: string | undefined } {
  const reader = new BundleReader(key, identity);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    const r = reader.push(bytes.subarray(i, i + size));
    if (!r.ok) return { out: Buffer.concat(out), code: r.refusal.code };
    if (r.payload) out.push(r.payload);
  }
  const end = reader.finish();
  return { out: Buffer.concat(out), code: end.ok ? undefined : end.refusal.code };
}

t.test('a good bundle is accepted whole, in any chunking', async (t) => {
  for (const size of [1, 7, 100, 4096, good.length]) {
    const r = readAll(good, size);
    t.equal(r.code, undefined, `chunks of ${size}`);
    t.ok(r.out.equals(payload), `payload intact in chunks of ${size}`);
  }
});

t.test('each refusal has its own code and message, and no payload byte passes a bad header', async (t) => {
  const cases: Array<[string, Buffer, RefusalCode, BoxIdentity?, KeyObject?]> = [
    ['signed by another key', encodeBundle(header, payload, stranger.privateKey), RefusalCode.badSignature],
    ['wrong architecture', encodeBundle({ ...header, arch: 'x64' }, payload, vendor.privateKey), RefusalCode.wrongArch],
    ['wrong board', encodeBundle({ ...header, boards: ['rpi4-usb-nic'] }, payload, vendor.privateKey), RefusalCode.wrongBoard],
    ['below the floor', encodeBundle({ ...header, version: '0.1.9', minVersion: '0.1.0' }, payload, vendor.privateKey), RefusalCode.downgrade],
    ['oversized', good, RefusalCode.tooLarge, { ...box, maxPayloadBytes: payload.length - 1 }],
    ['not a bundle', Buffer.from('\x7fELF\x02\x01\x01\x00 an executable, not a bundle'), RefusalCode.badMagic],
  ];
  for (const [what, bytes, code, identity] of cases) {
    const reader = new BundleReader(vendor.publicKey, identity ?? box);
    const r = reader.push(bytes);
    t.equal(r.ok, false, what);
    if (!r.ok) {
      t.equal(r.refusal.code, code, what);
      t.ok(r.refusal.message.length > 10, `${what}: ${r.refusal.message}`);
    }
    t.equal(reader.payloadBytesSeen, 0, `${what}: nothing let out`);
  }
});

t.test('truncated, extended and corrupted payloads are refused at the end', async (t) => {
  t.equal(readAll(good.subarray(0, good.length - 1), 100).code, RefusalCode.truncated);
  t.equal(readAll(good.subarray(0, 20), 100).code, RefusalCode.truncated, 'cut inside the header');
  t.equal(readAll(Buffer.concat([good, Buffer.from([0])]), 100).code, RefusalCode.trailingBytes);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 3] = (flipped[flipped.length - 3] as number) ^ 0x01;
  t.equal(readAll(flipped, 100).code, RefusalCode.hashMismatch);
  const later = Buffer.from(good);
  later.writeUInt16BE(2, BUNDLE_MAGIC.length);
  t.equal(readAll(later, 100).code, RefusalCode.unsupportedFormat);
});

t.test('the floor version itself passes; a header whose floor is above its version is refused', async (t) => {
  t.equal(readAll(encodeBundle({ ...header, version: '0.2.0' }, payload, vendor.privateKey), 50).code, undefined, 'reinstall at the floor');
  t.equal(readAll(encodeBundle({ ...header, version: '0.3.0', minVersion: '0.4.0' }, payload, vendor.privateKey), 50).code, RefusalCode.headerInvalid);
});

t.test('version order', async (t) => {
  t.ok(compareVersions('0.2.0', '0.1.9') > 0);
  t.ok(compareVersions('0.10.0', '0.9.0') > 0);
  t.ok(compareVersions('0.2.0-rc1', '0.2.0') < 0);
  t.equal(compareVersions('1.0.0', '1.0.0'), 0);
  t.ok(compareVersions('junk', '0.0.0') < 0);
});

t.test('property: a mutated bundle never throws and is never accepted', async (t) => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(good.length - 1), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(good.length - 1) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(good.length), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(FIXED_PREFIX_BYTES + 400), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  );
  fc.assert(
    fc.property(mutation, fc.integer({ min: 1, max: 2048 }), (m, chunk) => {
      let bytes: Buffer;
      if (m.kind === 'flip') {
        bytes = Buffer.from(good);
        bytes[m.at] = (bytes[m.at] as number) ^ (1 << m.bit);
      } else if (m.kind === 'cut') bytes = good.subarray(0, m.at);
      else if (m.kind === 'insert') bytes = Buffer.concat([good.subarray(0, m.at), Buffer.from(m.bytes), good.subarray(m.at)]);
      else {
        bytes = Buffer.from(good);
        Buffer.from(m.bytes).copy(bytes, m.at);
        if (bytes.equals(good)) return; // wrote the same bytes back: not a mutation
      }
      const r = readAll(bytes, chunk);
      return r.code !== undefined;
    }),
    { numRuns: 1500 },
  );
  t.pass('1500 mutated bundles refused');
});

t.test('property: arbitrary bytes never throw and are never accepted', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => readAll(Buffer.concat([BUNDLE_MAGIC, Buffer.from(bytes)]), 33).code !== undefined), { numRuns: 1000 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    const r = decodePrefix(Buffer.from(bytes), vendor.publicKey, box);
    return r.ok !== true;
  }), { numRuns: 1000 });
  t.pass();
});
