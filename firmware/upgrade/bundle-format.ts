import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { compareVersions, isVersion } from './version-order.ts';

/**
 * An update bundle: one file that carries a new executable and says what it is for, signed with the
 * vendor's Ed25519 key (the public half is built into every image).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  magic "PSTNUPG\n" (8 bytes)                  |
 *   +-------------------------------+-------------------------------+
 *   |     format (u16, = 1)         |  header length H (u32) ...    |
 *   +-------------------------------+-------------------------------+
 *   |  ... H  |            header: UTF-8 JSON (H bytes)             ~
 *   +-------------------------------+-------------------------------+
 *   ~      Ed25519 signature (64 bytes) over bytes 0 .. 14+H        ~
 *   +---------------------------------------------------------------+
 *   ~      payload: the executable (header.payloadBytes bytes)      ~
 *   +---------------------------------------------------------------+
 *
 * The signature covers the header, and the header carries the payload's size and SHA-256, so it
 * covers the payload too; signing the header (not 100 MB) lets a box refuse a bundle by its first
 * few hundred bytes, before anything is written, and hash the payload as it streams by.
 */
export const BUNDLE_MAGIC = Buffer.from('PSTNUPG\n', 'latin1');
export const BUNDLE_FORMAT = 1;
export const MAX_HEADER_BYTES = 4096;
export const SIGNATURE_BYTES = 64;
/** Bytes before the header: magic, format, header length. */
export const FIXED_PREFIX_BYTES = BUNDLE_MAGIC.length + 2 + 4;

export type BundleArch = 'x64' | 'arm64' | 'armv7';

export interface BundleHeader {
  /** The version the executable reports (package.json's). */
  readonly version: string;
  readonly arch: BundleArch;
  /** The board profiles it was built for; a box refuses a bundle that does not name its board. */
  readonly boards: readonly string[];
  /**
   * Anti-rollback floor: once this bundle is committed, the box refuses bundles older than this
   * (a release that fixes a security hole sets it to its own version).
   */
  readonly minVersion: string;
  readonly payloadBytes: number;
  readonly payloadSha256: string;
  readonly commit: string;
  readonly builtAt: string;
}

/** Why a bundle was refused: stable codes for the API, the UI and the MQTT reply. */
export const RefusalCode = {
  badMagic: 'POSTERN_ERR_UPGRADE_NOT_A_BUNDLE',
  unsupportedFormat: 'POSTERN_ERR_UPGRADE_FORMAT',
  headerInvalid: 'POSTERN_ERR_UPGRADE_HEADER',
  badSignature: 'POSTERN_ERR_UPGRADE_SIGNATURE',
  wrongArch: 'POSTERN_ERR_UPGRADE_ARCH',
  wrongBoard: 'POSTERN_ERR_UPGRADE_BOARD',
  downgrade: 'POSTERN_ERR_UPGRADE_DOWNGRADE',
  tooLarge: 'POSTERN_ERR_UPGRADE_TOO_LARGE',
  truncated: 'POSTERN_ERR_UPGRADE_TRUNCATED',
  trailingBytes: 'POSTERN_ERR_UPGRADE_TRAILING_BYTES',
  hashMismatch: 'POSTERN_ERR_UPGRADE_HASH',
} as const;
export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

export interface Refusal {
  readonly code: RefusalCode;
  readonly message: string;
}

/** What the box is and accepts: its architecture and board, its floor, the largest payload it takes. */
export interface BoxIdentity {
  readonly arch: BundleArch;
  readonly board: string;
  /** The highest minVersion of a committed bundle ('0.0.0' on a fresh box). */
  readonly floor: string;
  readonly maxPayloadBytes: number;
}

const fail = (code: RefusalCode, message: string): { ok: false; refusal: Refusal } => ({ ok: false, refusal: { code, message } });

/** The signed part (magic, format, length, header), the signature and the payload, as one buffer. */
export function encodeBundle(header: Omit<BundleHeader, 'payloadBytes' | 'payloadSha256'>, payload: Buffer, privateKey: KeyObject): Buffer {
  const full: BundleHeader = { ...header, payloadBytes: payload.length, payloadSha256: createHash('sha256').update(payload).digest('hex') };
  return Buffer.concat([encodeSignedPrefix(full, privateKey), payload]);
}

/** Everything before the payload, for a writer that streams the payload from a file after it. */
export function encodeSignedPrefix(header: BundleHeader, privateKey: KeyObject): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  if (json.length > MAX_HEADER_BYTES) throw new Error(`bundle header is ${json.length} bytes, at most ${MAX_HEADER_BYTES}`);
  const fixed = Buffer.alloc(FIXED_PREFIX_BYTES);
  BUNDLE_MAGIC.copy(fixed, 0);
  fixed.writeUInt16BE(BUNDLE_FORMAT, 8);
  fixed.writeUInt32BE(json.length, 10);
  const signed = Buffer.concat([fixed, json]);
  return Buffer.concat([signed, sign(null, signed, privateKey)]);
}

export type PrefixResult =
  | { readonly ok: true; readonly header: BundleHeader; readonly prefixBytes: number }
  | { readonly ok: false; readonly refusal: Refusal }
  /** More bytes are needed before anything can be said (at least `need` in all). */
  | { readonly ok: 'more'; readonly need: number };

/**
 * Validate, then interpret: checks magic, format and length against the bytes there are, the
 * signature with the trusted key, then what the header says against this box. Never throws.
 */
export function decodePrefix(bytes: Buffer, trustedKey: KeyObject, box: BoxIdentity): PrefixResult {
  if (bytes.length < FIXED_PREFIX_BYTES) {
    const seen = bytes.subarray(0, BUNDLE_MAGIC.length);
    if (!BUNDLE_MAGIC.subarray(0, seen.length).equals(seen)) return fail(RefusalCode.badMagic, 'not a Postern update bundle (bad magic)');
    return { ok: 'more', need: FIXED_PREFIX_BYTES };
  }
  if (!bytes.subarray(0, BUNDLE_MAGIC.length).equals(BUNDLE_MAGIC)) return fail(RefusalCode.badMagic, 'not a Postern update bundle (bad magic)');
  const format = bytes.readUInt16BE(8);
  if (format !== BUNDLE_FORMAT) return fail(RefusalCode.unsupportedFormat, `bundle format ${format} is not understood by this firmware (it reads format ${BUNDLE_FORMAT})`);
  const headerBytes = bytes.readUInt32BE(10);
  if (headerBytes === 0 || headerBytes > MAX_HEADER_BYTES) return fail(RefusalCode.headerInvalid, `bundle header length ${headerBytes} is out of range (1..${MAX_HEADER_BYTES})`);
  const prefixBytes = FIXED_PREFIX_BYTES + headerBytes + SIGNATURE_BYTES;
  if (bytes.length < prefixBytes) return { ok: 'more', need: prefixBytes };
  const signed = bytes.subarray(0, FIXED_PREFIX_BYTES + headerBytes);
  const signature = bytes.subarray(FIXED_PREFIX_BYTES + headerBytes, prefixBytes);
  let good = false;
  try {
    good = verify(null, signed, trustedKey, signature);
  } catch {
    good = false;
  }
  if (!good) return fail(RefusalCode.badSignature, 'the bundle is not signed by the key this firmware trusts');
  // Signed by the vendor, so well-formed unless the vendor's tool is broken: still checked field by field.
  const header = parseHeader(signed.subarray(FIXED_PREFIX_BYTES));
  if (typeof header === 'string') return fail(RefusalCode.headerInvalid, `bundle header: ${header}`);
  const refusal = checkAgainstBox(header, box);
  return refusal ? { ok: false, refusal } : { ok: true, header, prefixBytes };
}

function checkAgainstBox(header: BundleHeader, box: BoxIdentity): Refusal | undefined {
  if (header.arch !== box.arch) return { code: RefusalCode.wrongArch, message: `the bundle is for ${header.arch}, this box is ${box.arch}` };
  if (!header.boards.includes(box.board)) return { code: RefusalCode.wrongBoard, message: `the bundle is for board ${header.boards.join(', ')}, this box is ${box.board}` };
  if (compareVersions(header.version, box.floor) < 0) {
    return { code: RefusalCode.downgrade, message: `version ${header.version} is below ${box.floor}, the oldest version this box may run (downgrade refused)` };
  }
  if (header.payloadBytes > box.maxPayloadBytes) {
    return { code: RefusalCode.tooLarge, message: `the executable is ${header.payloadBytes} bytes, this box takes at most ${box.maxPayloadBytes}` };
  }
  return undefined;
}

const ARCHES: ReadonlySet<string> = new Set(['x64', 'arm64', 'armv7']);
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The header's fields with their types, or why not. */
export function parseHeader(bytes: Buffer): BundleHeader | string {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return 'not UTF-8 JSON';
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return 'not an object';
  const h = doc as Record<string, unknown>;
  if (!isVersion(h['version'])) return 'version must be like 1.2.3';
  if (typeof h['arch'] !== 'string' || !ARCHES.has(h['arch'])) return 'arch must be x64, arm64 or armv7';
  const boards = h['boards'];
  if (!Array.isArray(boards) || boards.length === 0 || boards.length > 32 || !boards.every((b) => typeof b === 'string' && NAME.test(b))) return 'boards must be 1..32 board names';
  if (!isVersion(h['minVersion'])) return 'minVersion must be like 1.2.3';
  if (compareVersions(h['minVersion'], h['version']) > 0) return 'minVersion is above the version itself';
  const size = h['payloadBytes'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1) return 'payloadBytes must be a positive integer';
  if (typeof h['payloadSha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(h['payloadSha256'])) return 'payloadSha256 must be 64 hex digits';
  if (typeof h['commit'] !== 'string' || h['commit'].length > 64) return 'commit must be a short string';
  if (typeof h['builtAt'] !== 'string' || h['builtAt'].length > 64) return 'builtAt must be a short string';
  return {
    version: h['version'], arch: h['arch'] as BundleArch, boards: boards as string[], minVersion: h['minVersion'],
    payloadBytes: size, payloadSha256: h['payloadSha256'], commit: h['commit'], builtAt: h['builtAt'],
  };
}
