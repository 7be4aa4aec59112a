// Issue 26: MQTT 5 request/response routing for telemetry commands (MQTT 5.0 §4.10, §3.3.2.3.3).
import fc from 'fast-check';
import t from 'tap';
import { expiredBy, routeCommand } from '../../../firmware/telemetry/command-request.ts';

const ctx = { replyTopic: 'postern/gw/reply', receivedAt: 1_000_000, retained: false };

t.test('routes', async (t) => {
  t.same(routeCommand(undefined, ctx), { kind: 'run', replyTopic: 'postern/gw/reply' }, 'MQTT 3.1.1: the reply topic');
  const cd = Buffer.from('abc');
  t.same(routeCommand({ responseTopic: 'postern/gw/reply/c1', correlationData: cd, messageExpiryInterval: 10 }, ctx), { kind: 'run', replyTopic: 'postern/gw/reply/c1', correlationData: cd, expiresAt: 1_010_000 });
  t.same(routeCommand({ responseTopic: 'postern/gw/reply' }, ctx), { kind: 'run', replyTopic: 'postern/gw/reply' });
  for (const bad of ['postern/gw/replyx', 'postern/gw/state', 'postern/other/reply', 'postern/gw/reply/+', 'postern/gw/reply/#', `postern/gw/reply/${'x'.repeat(300)}`]) {
    t.match(routeCommand({ responseTopic: bad, correlationData: cd }, ctx), { kind: 'refuse', replyTopic: 'postern/gw/reply', correlationData: cd }, bad.slice(0, 40));
  }
  t.match(routeCommand({ correlationData: Buffer.alloc(257) }, ctx), { kind: 'refuse' });
  t.same(routeCommand({ messageExpiryInterval: 0 }, ctx), { kind: 'drop', why: 'expired' });
  t.same(routeCommand({}, { ...ctx, retained: true }), { kind: 'drop', why: 'retained-without-expiry' });
  t.equal(routeCommand({ messageExpiryInterval: 5 }, { ...ctx, retained: true }).kind, 'run', 'retained with an expiry runs while it lasts');
  t.notOk(expiredBy({ expiresAt: 10 }, 9));
  t.ok(expiredBy({ expiresAt: 10 }, 10));
  t.notOk(expiredBy({}, Number.MAX_SAFE_INTEGER));
});

t.test('property: a reply goes only to the reply topic or below it', async () => {
  fc.assert(fc.property(fc.option(fc.string({ maxLength: 40 }), { nil: undefined }), fc.option(fc.integer({ min: 0, max: 1e6 }), { nil: undefined }), fc.boolean(), (responseTopic, messageExpiryInterval, retained) => {
    const r = routeCommand({ ...(responseTopic !== undefined ? { responseTopic: `postern/gw/${responseTopic}` } : {}), ...(messageExpiryInterval !== undefined ? { messageExpiryInterval } : {}) }, { ...ctx, retained });
    if (r.kind === 'drop') return true;
    return (r.replyTopic === ctx.replyTopic || r.replyTopic.startsWith(`${ctx.replyTopic}/`)) && !/[+#]/.test(r.replyTopic);
  }));
});
