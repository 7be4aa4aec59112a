/**
 * Version order for downgrade checks: MAJOR.MINOR.PATCH with an optional "-pre" part, which sorts
 * before the release (0.2.0-rc1 < 0.2.0), as in SemVer 2.0 §11 (pre-release parts compared as text).
 */
const VERSION = /^(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:-([0-9A-Za-z.-]{1,32}))?$/;

export const isVersion = (v: unknown): v is string => typeof v === 'string' && VERSION.test(v);

/** <0, 0, >0 like a sort comparator; a malformed version sorts below every real one. */
export function compareVersions(a: string, b: string): number {
  const ma = VERSION.exec(a);
  const mb = VERSION.exec(b);
  if (!ma || !mb) return (ma ? 1 : 0) - (mb ? 1 : 0);
  for (let i = 1; i <= 3; i++) {
    const d = Number(ma[i]) - Number(mb[i]);
    if (d !== 0) return d;
  }
  const pa = ma[4];
  const pb = mb[4];
  if (pa === pb) return 0;
  if (pa === undefined) return 1;
  if (pb === undefined) return -1;
  return pa < pb ? -1 : 1;
}
