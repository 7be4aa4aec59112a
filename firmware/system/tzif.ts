/**
 * The POSIX TZ string of a zone, read from its TZif file (RFC 8536), sans-I/O. OpenWrt's libc reads
 * only that string (uci system.@system[0].timezone → /etc/TZ), not the zoneinfo file, and its own tools
 * get it from a table in LuCI: Postern takes it from the file's footer, which every TZif v2+ file ends
 * with ("\n<TZ>\n" after the 64-bit data block).
 */

const HEADER = 44;

/** The footer's TZ string; throws a plain-words error for anything that is not a TZif v2+ file with one. */
export function posixTzOf(file: Uint8Array): string {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const header = (at: number) => {
    if (at + HEADER > file.length) throw new Error('not a TZif file: truncated header');
    if (String.fromCharCode(file[at]!, file[at + 1]!, file[at + 2]!, file[at + 3]!) !== 'TZif') throw new Error('not a TZif file: no TZif magic');
    const counts = [0, 1, 2, 3, 4, 5].map((i) => view.getUint32(at + 20 + i * 4));
    const [isut, isstd, leap, time, type, chars] = counts as [number, number, number, number, number, number];
    return { version: file[at + 4]!, sized: (timeSize: number) => time * timeSize + time + type * 6 + chars + leap * (timeSize + 4) + isstd + isut };
  };
  const v1 = header(0);
  if (v1.version < 0x32) throw new Error('TZif version 1: no POSIX TZ footer');
  const v2At = HEADER + v1.sized(4);
  const footerAt = v2At + HEADER + header(v2At).sized(8);
  if (footerAt >= file.length || file[footerAt] !== 0x0a) throw new Error('TZif file without its footer');
  const end = file.indexOf(0x0a, footerAt + 1);
  if (end < 0) throw new Error('TZif footer not terminated');
  const tz = new TextDecoder('ascii').decode(file.subarray(footerAt + 1, end));
  if (tz === '') throw new Error('the TZif footer is empty (the zone has no rule for future times)');
  if (!/^[\x21-\x7e]+$/.test(tz)) throw new Error('the TZif footer is not a TZ string');
  return tz;
}
