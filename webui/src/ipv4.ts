/** IPv4 arithmetic the forms need: which pool holds an address, and a free one to suggest. */

const toNumber = (address: string): number | undefined => {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
};

const toText = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** The addresses a pool hands out: the prefix without its network and broadcast addresses (all of a /31 or /32). */
export function usableRange(prefix: string): { first: number; last: number } | undefined {
  const [address, lengthText] = prefix.split('/');
  const length = Number(lengthText);
  const n = toNumber(address ?? '');
  if (n === undefined || !Number.isInteger(length) || length < 0 || length > 32) return undefined;
  const size = 2 ** (32 - length);
  const start = n - (n % size);
  return size <= 2 ? { first: start, last: start + size - 1 } : { first: start + 1, last: start + size - 2 };
}

export function inRange(prefix: string, address: string): boolean {
  const r = usableRange(prefix);
  const n = toNumber(address);
  return !!r && n !== undefined && n >= r.first && n <= r.last;
}

/**
 * An address of the pool to suggest as a user's fixed one: the highest not taken by another user's
 * fixed address. From the top, because the pool hands out dynamic addresses from the bottom.
 */
export function freeFromTop(prefix: string, taken: readonly string[]): string | undefined {
  const r = usableRange(prefix);
  if (!r) return undefined;
  const used = new Set(taken.map(toNumber));
  // Bounded: stop after 65,536 tries whatever the pool's size.
  for (let n = r.last, tries = 0; n >= r.first && tries < 65_536; n--, tries++) if (!used.has(n)) return toText(n);
  return undefined;
}
