/**
 * Which content coding to answer with (RFC 9110 §12.5.3 Accept-Encoding), sans-I/O: the client's
 * list of codings with their weights against the forms the server holds. A coding the client gives
 * q=0 is refused; `*` stands for every coding not named; identity is acceptable unless refused by
 * name or by `*;q=0`. Among acceptable codings the client's highest weight wins, then the server's
 * order (smallest first: br, gzip, identity). When nothing is acceptable the identity form is sent
 * anyway: RFC 9110 allows it, and a 406 for a web page helps nobody.
 */

export const CODINGS = ['br', 'gzip', 'identity'] as const;
export type Coding = (typeof CODINGS)[number];

/** The header's codings and weights; malformed entries are skipped, never thrown on. */
export function parseAcceptEncoding(header: string): Map<string, number> {
  const weights = new Map<string, number>();
  // A bounded walk: at most 64 entries of a header the client controls.
  for (const entry of header.split(',').slice(0, 64)) {
    const [token, ...params] = entry.split(';').map((p) => p.trim());
    const coding = token?.toLowerCase();
    if (!coding || !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(coding)) continue;
    let q = 1;
    for (const param of params) {
      const m = /^q\s*=\s*(0(\.\d{0,3})?|1(\.0{0,3})?)$/i.exec(param);
      if (m) q = Number(m[1]);
      else if (/^q\s*=/i.test(param)) q = Number.NaN;
    }
    if (Number.isNaN(q)) continue;
    // x-gzip is gzip (RFC 9110 §8.4.1.3).
    const name = coding === 'x-gzip' ? 'gzip' : coding;
    weights.set(name, Math.max(weights.get(name) ?? 0, q));
  }
  return weights;
}

export function negotiateCoding(header: string | undefined, available: readonly Coding[]): Coding {
  // No header: any coding is acceptable (RFC 9110 §12.5.3), but many tools that send none cannot
  // decode one: identity is the safe reading.
  if (header === undefined) return 'identity';
  const weights = parseAcceptEncoding(header);
  const star = weights.get('*');
  const weight = (c: Coding): number => weights.get(c) ?? (c === 'identity' ? (star === 0 ? 0 : 1e-3) : (star ?? 0));
  let best: Coding = 'identity';
  let bestQ = 0;
  for (const c of CODINGS) {
    if (!available.includes(c) && c !== 'identity') continue;
    const q = weight(c);
    if (q > bestQ) {
      best = c;
      bestQ = q;
    }
  }
  return best;
}
