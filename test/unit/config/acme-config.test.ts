import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';

t.test('certificates.acme: optional; an https directory and a known challenge are accepted (issue 16)', async (t) => {
  const c = defaultConfig();
  t.ok(validateConfig(c).ok, 'absent is fine');
  c.certificates.acme = { enabled: true, directoryUrl: 'https://10.0.0.1:14000/dir', email: 'ops@example.net', challenge: 'http-01' };
  const r = validateConfig(c);
  t.ok(r.ok, JSON.stringify(r));
});

t.test('certificates.acme: a plain-http directory and an unknown challenge are refused at their paths', async (t) => {
  const c = defaultConfig();
  c.certificates.acme = { enabled: true, directoryUrl: 'http://ca.example/dir', challenge: 'dns-01' as never };
  const r = validateConfig(c);
  t.notOk(r.ok);
  const paths = r.ok ? [] : r.errors.map((e) => e.path);
  t.ok(paths.some((p) => p.endsWith('acme.directoryUrl')), paths.join(','));
  t.ok(paths.some((p) => p.endsWith('acme.challenge')), paths.join(','));
});
