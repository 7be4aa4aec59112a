/**
 * The fleet's topic tree (issue 26), beside telemetry's `<prefix>/<serial>/…` (telemetry/schema.ts).
 * The serial is the box's `telemetry.mqtt.deviceId`.
 *
 *   <prefix>/<serial>/desired         (in, retained)  a signed desired configuration for this box
 *   <prefix>/group/<group>/desired    (in, retained)  a signed desired configuration for a group
 *   <prefix>/<serial>/variables       (in, retained)  signed per-box values for group templates
 *   <prefix>/<serial>/reported        retained        what the box did with desired documents
 *   <prefix>/enroll/<serial>          retained        a box announcing itself (enrollment)
 *
 * "group" and "enroll" are therefore not usable as serials (refused by validation when fleet is on).
 */

export const RESERVED_SERIALS = ['group', 'enroll'] as const;

export interface FleetTopics {
  readonly desired: string;
  readonly groupDesired: readonly string[];
  readonly variables: string;
  readonly reported: string;
  readonly announce: string;
}

export function fleetTopics(prefix: string, serial: string, groups: readonly string[]): FleetTopics {
  return {
    desired: `${prefix}/${serial}/desired`,
    groupDesired: groups.map((g) => `${prefix}/group/${g}/desired`),
    variables: `${prefix}/${serial}/variables`,
    reported: `${prefix}/${serial}/reported`,
    announce: `${prefix}/enroll/${serial}`,
  };
}
