import type { ArrayField, Field, IntegerField, ObjectField, StringField } from '../config/schema-types.ts';

/**
 * The board profile's schema table (types.ts has the same shape as TypeScript types), checked by
 * the configuration's own checker (config/validate.ts checkField), so a profile's problems read
 * like a configuration's: a path and why.
 */

const text = (label: string, more: Omit<StringField, 'kind' | 'label'> = {}): StringField => ({ kind: 'string', label, ...more });
const whole = (label: string, min: number, max: number): IntegerField => ({ kind: 'integer', label, min, max });
const flag = (label: string, help: string): Field => ({ kind: 'boolean', label, help });
const group = (label: string, fields: Record<string, Field>, more: Omit<ObjectField, 'kind' | 'label' | 'fields'> = {}): ObjectField => ({ kind: 'object', label, fields, ...more });
const listOf = (label: string, items: Field, maxItems: number, more: Omit<ArrayField, 'kind' | 'label' | 'items' | 'maxItems'> = {}): ArrayField => ({ kind: 'array', label, items, maxItems, ...more });

export const INTERFACE_ROLES = ['wan', 'lan', 'spare'] as const;
export const LED_SHOWS = ['power', 'wan-up', 'tunnels-up', 'error'] as const;

export const boardSchema: ObjectField = group('Board profile', {
  name: text('Name', { format: 'name', help: 'Also the file name: board/<name>.json' }),
  title: text('Title', { minLength: 1, maxLength: 80, help: 'Maker and model, as shown in the web UI' }),
  architecture: text('Architecture', { enum: ['arm64', 'armv7', 'x64'], help: 'armv7 boards get a package for their distribution\'s Node (>= 20) instead of a single executable' }),
  interfaces: listOf('Network interfaces', group('Interface', {
    name: text('Kernel name', { format: 'interface' }),
    role: text('Role', { enum: [...INTERFACE_ROLES] }),
    label: text('Label', { minLength: 1, maxLength: 80, help: 'What the case says next to the port, or what the port is' }),
  }), 16, { uniqueNames: true }),
  leds: listOf('LEDs', group('LED', {
    path: text('sysfs directory', { format: 'path', help: 'Under /sys/class/leds' }),
    shows: text('Shows', { enum: [...LED_SHOWS] }),
  }), 8),
  resetButton: group('Reset button', {
    input: text('Input device', { format: 'path', help: 'The evdev device, e.g. /dev/input/event0' }),
    keyCode: whole('Key code', 1, 767),
    holdSeconds: whole('Hold for factory reset (s)', 3, 60),
  }, { optional: true, help: 'Absent when the board has none' }),
  watchdog: text('Watchdog device', { format: 'path', nullable: true, help: 'null when the board has none' }),
  storage: group('Storage', {
    stateDir: text('State directory', { format: 'path' }),
    layout: text('Layout', { enum: ['ab-slots', 'image-path'] }),
    slots: group('A/B slots', {
      a: text('Slot A', { format: 'path' }),
      b: text('Slot B', { format: 'path' }),
    }, { optional: true }),
    imagePath: text('Executable path', { format: 'path', optional: true }),
  }),
  kernel: group('Kernel features expected', {
    xfrmEsp: flag('XFRM with ESP', 'The kernel data-plane back end can be used'),
    multiqueueTun: flag('Multi-queue TUN', 'IFF_MULTI_QUEUE'),
    udpSegmentationOffload: flag('UDP segmentation offload', 'UDP_SEGMENT (Linux 4.18)'),
  }),
  notes: text('Notes', { optional: true, maxLength: 2000 }),
  fleet: group('Fleet enrollment', {
    broker: text('Broker URL', { format: 'url', optional: true }),
    discoveryDomain: text('Broker discovery domain (DNS SRV)', { format: 'host', optional: true }),
    dhcpLeaseFile: text('DHCP lease file naming the broker (option 224)', { format: 'path', optional: true, help: 'dhclient.leases, or a systemd-networkd lease: the broker URL in a site-specific option (docs/fleet.md)' }),
    dhcpLeaseFormat: text('DHCP lease file format', { enum: ['dhclient', 'networkd'], optional: true }),
    dhcpOption: { ...whole('DHCP option code', 224, 254), optional: true },
    discoveryPlain: { kind: 'boolean', label: 'Discovery may find unencrypted brokers', help: 'Insecure: a lab only', optional: true },
    prefix: text('Topic prefix', { optional: true, minLength: 1, maxLength: 64 }),
    operatorKeys: listOf('Operator public keys', text('Ed25519 public key', { minLength: 40, maxLength: 400 }), 4),
    groups: listOf('Groups', text('Group', { format: 'name' }), 16, { optional: true }),
    serialFile: text('Serial number file', { format: 'path', optional: true }),
    certificate: text('Device certificate (PEM file)', { format: 'path', optional: true }),
    key: text('Device key (PEM file)', { format: 'path', optional: true }),
    ca: text('Broker CA (PEM file)', { format: 'path', optional: true }),
    enrollmentTokenFile: text('One-time enrollment token (file)', { format: 'path', optional: true }),
    enrollmentBroker: text('Enrollment broker URL (token holders)', { format: 'url', optional: true }),
  }, { optional: true, help: 'Zero-touch enrollment (issue 26): a fresh box connects here and takes signed configuration; absent: off' }),
});
