/**
 * /proc/self/mountinfo (proc(5)): which mount a path is on and with what options, to refuse a
 * runtime directory the kernel would not map code from (noexec) before trying.
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)         (11)
 *
 * (5) the mount point, octal-escaped (\040 for a space); (6) per-mount options, where noexec is.
 */

export interface MountEntry {
  readonly mountPoint: string;
  readonly options: readonly string[];
  readonly fsType: string;
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** Every well-formed line, in the kernel's order (a later mount on the same point hides an earlier one). */
export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    const mountPoint = fields[4];
    const options = fields[5];
    const fsType = fields[dash + 1];
    if (dash < 0 || mountPoint === undefined || options === undefined || fsType === undefined) continue;
    entries.push({ mountPoint: unescape(mountPoint), options: options.split(','), fsType });
  }
  return entries;
}

/** The mount an absolute, symlink-free path lives on: the longest mount point above it, the last one mounted. */
export function mountOf(entries: readonly MountEntry[], path: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const e of entries) {
    const inside = e.mountPoint === '/' || path === e.mountPoint || path.startsWith(`${e.mountPoint}/`);
    if (inside && (!best || e.mountPoint.length >= best.mountPoint.length)) best = e;
  }
  return best;
}
