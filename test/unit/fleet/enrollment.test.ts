// Issue 26: enrollment's pure parts: the serial, the first configuration from the board, the board schema.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { validateBoard } from '../../../firmware/board/validate.ts';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { announceMessage, BOARD_CERTIFICATE, boxSerial, devicePublicKey, enrolledConfig, enrollsByToken, presetFleet } from '../../../firmware/fleet/enrollment.ts';
import { tempDir } from '../../helpers/tmp.ts';

const KEY = 'bNcSLC+HL8ZQjYmmh4Us5P0qmRTCGaoFOH4rhbYDa3s=';
const fleet = { broker: 'mqtts://fleet.example.com:8883', operatorKeys: [KEY], groups: ['shops'], serialFile: '/serial', certificate: '/c.pem', key: '/k.pem' };

t.test('the serial: the board\'s file (device-tree NULs dropped), else the WAN MAC', async (t) => {
  t.equal(boxSerial(fleet, 'aa:bb:cc:00:11:22', () => 'SN-1234\0'), 'SN-1234');
  t.equal(boxSerial(fleet, 'AA:BB:CC:00:11:22', () => { throw new Error('ENOENT'); }), 'postern-aabbcc001122', 'no file: the MAC');
  t.equal(boxSerial(fleet, 'aa:bb:cc:00:11:22', () => 'group'), 'postern-aabbcc001122', 'a reserved topic level is not a serial');
  t.equal(boxSerial(fleet, undefined, () => '\0\0'), undefined, 'neither: no enrollment');
  const { serialFile: _none, ...noFile } = fleet;
  t.equal(boxSerial(noFile, 'aa:bb:cc:00:11:22'), 'postern-aabbcc001122');
});

t.test('the first configuration points at the board\'s broker and is valid', async (t) => {
  const config = presetFleet(defaultConfig(), fleet, 'SN-1234');
  t.match(config.telemetry.mqtt, { enabled: true, url: fleet.broker, deviceId: 'SN-1234', clientCertificate: BOARD_CERTIFICATE, fleet: { enabled: true, operatorKeys: [KEY], groups: ['shops'] } });
  const result = validateConfig(config);
  t.ok(result.ok, `valid: ${JSON.stringify(result.ok ? [] : result.errors)}`);
  t.same(presetFleet(defaultConfig(), undefined, 'SN-1234'), defaultConfig(), 'no fleet in the board: unchanged');
  t.same(presetFleet(defaultConfig(), fleet, undefined), defaultConfig(), 'no serial: unchanged');
  const badKey = presetFleet(defaultConfig(), { ...fleet, operatorKeys: ['not-a-key-but-long-enough-to-pass-the-length-check'] }, 'SN-1');
  const refused = validateConfig(badKey);
  t.match(refused.ok ? [] : refused.errors, [{ path: 'telemetry.mqtt.fleet.operatorKeys[0]' }], 'a bad key refused at its field');
});

t.test('a board with an enrollment token and no certificate: off until enrolled, then on with the certificate', async (t) => {
  const { certificate: _c, key: _k, ...noCert } = fleet;
  const byToken = { ...noCert, enrollmentTokenFile: '/token', enrollmentBroker: 'mqtts://fleet.example.com:8884' };
  t.ok(enrollsByToken(byToken));
  t.notOk(enrollsByToken({ ...fleet, enrollmentTokenFile: '/token' }), 'a factory certificate wins over a token');
  t.notOk(enrollsByToken(noCert));
  const first = presetFleet(defaultConfig(), byToken, 'SN-1234');
  t.match(first.telemetry.mqtt, { enabled: false, url: fleet.broker, deviceId: 'SN-1234', clientCertificate: BOARD_CERTIFICATE, fleet: { enabled: false, operatorKeys: [KEY] } }, 'off, its broker and identity named');
  t.ok(validateConfig(first).ok, 'valid');
  const enrolled = enrolledConfig(first);
  t.match(enrolled.telemetry.mqtt, { enabled: true, url: fleet.broker, clientCertificate: BOARD_CERTIFICATE, fleet: { enabled: true } }, 'on once enrolled');
  t.ok(validateConfig(enrolled).ok, 'valid');
  const board = { ...(JSON.parse(readFileSync('board/generic-x64.json', 'utf8')) as Record<string, unknown>), fleet: byToken };
  t.ok(validateBoard(board).ok, 'the board schema takes the token file and the enrollment broker');
  t.notOk(validateBoard({ ...board, fleet: { ...byToken, enrollmentBroker: 'not a url' } }).ok);
});

t.test('the board schema takes a fleet section; the announcement carries the device key', async (t) => {
  const board = { ...(JSON.parse(readFileSync('board/generic-x64.json', 'utf8')) as Record<string, unknown>), fleet };
  t.ok(validateBoard(board).ok, 'valid');
  t.notOk(validateBoard({ ...board, fleet: { ...fleet, broker: 'not a url' } }).ok, 'a bad broker URL refused');
  const dir = tempDir(t);
  const key = devicePublicKey(dir);
  t.equal(devicePublicKey(dir), key, 'made once, the same after');
  t.match(announceMessage({ serial: 'SN-1', board: 'generic-x64', firmwareVersion: '1.2.3', publicKey: key }, 0), { schema: 1, ts: '1970-01-01T00:00:00.000Z', serial: 'SN-1', publicKey: /^[A-Za-z0-9+/]{43}=$/ });
});
