/**
 * Dynamic DNS (issue 17), checked with the field named: what each method needs, a key that is
 * base64 of at least 16 bytes (RFC 8945 §6: shorter HMAC keys are weak), and a public name to update
 * that lies inside the zone.
 */
import type { ConfigIssue, PosternConfig } from './types.ts';

const inZone = (name: string, zone: string): boolean => {
  const n = name.toLowerCase().replace(/\.$/, '');
  const z = zone.toLowerCase().replace(/\.$/, '');
  return n === z || n.endsWith(`.${z}`);
};

export function dynamicDnsErrors(config: PosternConfig): ConfigIssue[] {
  const d = config.system.dynamicDns;
  if (!d?.enabled) return [];
  const at = 'system.dynamicDns';
  const out: ConfigIssue[] = [];
  const need = (field: string, value: unknown, why: string) => {
    if (value === undefined || value === '') out.push({ path: `${at}.${field}`, code: 'required', message: why });
  };
  if (!config.system.publicName) out.push({ path: 'system.publicName', code: 'required', message: 'dynamic DNS updates the public name: set one' });
  if (d.method === 'http') {
    need('url', d.url, 'the provider\'s update URL is needed');
    if (d.url !== undefined && !/^https?:\/\//.test(d.url)) out.push({ path: `${at}.url`, code: 'format', message: 'must be an http:// or https:// URL' });
    return out;
  }
  need('server', d.server, 'the zone\'s primary DNS server is needed');
  need('zone', d.zone, 'the zone to update is needed');
  need('keyName', d.keyName, 'the TSIG key\'s name is needed');
  need('keySecret', d.keySecret, 'the TSIG key is needed');
  if (d.keySecret && (!/^[A-Za-z0-9+/]+={0,2}$/.test(d.keySecret) || Buffer.from(d.keySecret, 'base64').length < 16)) {
    out.push({ path: `${at}.keySecret`, code: 'format', message: 'must be base64 of at least 16 bytes (as BIND\'s tsig-keygen writes it)' });
  }
  if (d.zone && config.system.publicName && !inZone(config.system.publicName, d.zone)) {
    out.push({ path: `${at}.zone`, code: 'mismatch', message: `the public name ${config.system.publicName} is not in the zone ${d.zone}` });
  }
  return out;
}
