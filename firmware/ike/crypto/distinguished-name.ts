import { contents, oidText, readChildren, readWhole, Tag } from '../../revocation/der-read.ts';

/**
 * Whether two DER Names are the same name (RFC 5280 §7.1, RFC 4518): the same attributes in the same
 * order, values compared as caseIgnoreMatch strings whatever string type encodes them. strongSwan
 * writes an ID typed as "CN=laptop-1" with a PrintableString where the certificate has a UTF8String
 * (RFC 5280 §4.1.2.6's choice), so an octet-for-octet comparison refuses a name that matches.
 * Never throws; malformed input compares equal only byte for byte.
 */
const STRING_TAGS = new Set([0x0c /* UTF8String */, 0x13 /* PrintableString */, 0x16 /* IA5String */]);

type Attribute = { readonly type: string; readonly value: string };

function attributes(der: Uint8Array): Attribute[][] | undefined {
  const name = readWhole(der, Tag.SEQUENCE);
  const rdns = name && readChildren(der, name);
  if (!rdns) return undefined;
  const out: Attribute[][] = [];
  for (const rdn of rdns) {
    const set = rdn.tag === Tag.SET ? readChildren(der, rdn) : undefined;
    if (!set) return undefined;
    const atvs: Attribute[] = [];
    for (const atv of set) {
      const f = atv.tag === Tag.SEQUENCE ? readChildren(der, atv) : undefined;
      const type = f?.length === 2 ? oidText(der, f[0]!) : undefined;
      if (!f || !type) return undefined;
      const v = f[1]!;
      const raw = Buffer.from(contents(der, v));
      // Strings compare as text (§7.1: insignificant space and case folded); anything else by its bytes.
      const value = STRING_TAGS.has(v.tag) ? raw.toString('utf8').trim().replace(/\s+/g, ' ').toLowerCase() : `${v.tag}:${raw.toString('hex')}`;
      atvs.push({ type, value });
    }
    out.push(atvs.sort((a, b) => (a.type + a.value < b.type + b.value ? -1 : 1)));
  }
  return out;
}

export function sameName(a: Uint8Array, b: Uint8Array): boolean {
  if (Buffer.from(a).equals(Buffer.from(b))) return true;
  const x = attributes(a);
  const y = attributes(b);
  if (!x || !y || x.length !== y.length) return false;
  return x.every((rdn, i) => rdn.length === y[i]!.length && rdn.every((atv, j) => atv.type === y[i]![j]!.type && atv.value === y[i]![j]!.value));
}
