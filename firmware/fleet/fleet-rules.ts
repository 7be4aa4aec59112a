/** The fleet settings' cross-field rules (issue 26), run by config/rules.ts. */
import type { ConfigIssue, PosternConfig } from '../config/types.ts';
import { parsePublicKey } from './envelope.ts';
import { RESERVED_SERIALS } from './topics.ts';

export function fleetErrors(config: PosternConfig): ConfigIssue[] {
  const mqtt = config.telemetry.mqtt;
  const fleet = mqtt.fleet;
  if (!fleet?.enabled) return [];
  const errors: ConfigIssue[] = [];
  const at = 'telemetry.mqtt.fleet';
  if (!mqtt.enabled) errors.push({ path: `${at}.enabled`, code: 'required', message: 'needs MQTT telemetry on (telemetry.mqtt.enabled)' });
  if (fleet.operatorKeys.length === 0) errors.push({ path: `${at}.operatorKeys`, code: 'required', message: 'needs at least one operator public key' });
  fleet.operatorKeys.forEach((k, i) => {
    const parsed = parsePublicKey(k);
    if (!parsed.ok) errors.push({ path: `${at}.operatorKeys[${i}]`, code: 'format', message: parsed.why });
  });
  if ((RESERVED_SERIALS as readonly string[]).includes(mqtt.deviceId)) errors.push({ path: 'telemetry.mqtt.deviceId', code: 'reserved', message: `'${mqtt.deviceId}' is a level of the fleet's topic tree; choose another device ID` });
  return errors;
}
