import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { redactConfig } from '../../../firmware/config/redact.ts';
import { ntHashHex } from '../../../firmware/crypto/user-credential.ts';

t.test('every secret field is redacted, nothing else', async (t) => {
  const c = defaultConfig();
  c.users = [{ name: 'alice', ntHash: ntHashHex('Secret-Pass-1'), password: 'Secret-Pass-1', chapMd5: true, enabled: true }];
  c.admin.passwordHash = 'scrypt$abc';
  c.listeners.l2tp.psk = 'group-psk-value';
  c.telemetry.mqtt.password = 'mqtt-pass';
  c.sites = [{ name: 's', protocol: 'ikev2', remote: 'h.example', localSubnets: [], remoteSubnets: [], auth: 'psk', psk: 'site-psk-value-123', initiate: true, enabled: true }];
  const text = JSON.stringify(redactConfig(c));
  for (const secret of ['Secret-Pass-1', ntHashHex('Secret-Pass-1'), 'scrypt$abc', 'group-psk-value', 'mqtt-pass', 'site-psk-value-123']) t.notOk(text.includes(secret), secret);
  t.ok(text.includes('alice'));
  t.equal((redactConfig(defaultConfig()) as any).listeners.l2tp.psk, '', 'an empty secret stays visibly empty');
  t.equal((redactConfig(defaultConfig()) as any).admin.passwordHash, null, 'an unset hash stays null');
});

t.test('keys the schema does not know: strings under secret-looking names redacted, the rest kept', async (t) => {
  // A fragment redacted from the root (its keys unknown there), as the DDNS route once did.
  const fragment = { dynamicDns: { tsigKey: 'c2VjcmV0LWtleQ==', server: '10.0.0.53', http: { url: 'https://dyn.example/update', password: 'dyn-pass' }, tokens: ['t1'] } };
  const out = redactConfig(fragment) as typeof fragment;
  t.same(out, { dynamicDns: { tsigKey: '<redacted>', server: '10.0.0.53', http: { url: 'https://dyn.example/update', password: '<redacted>' }, tokens: ['<redacted>'] } });
  t.same(redactConfig({ future: { apiKey: '', name: 'x' } }), { future: { apiKey: '', name: 'x' } }, 'empty stays visibly empty; other names kept');
});
