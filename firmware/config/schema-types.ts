/**
 * Schema tables: data that describes every field once. Validation messages, defaults, the web UI's
 * forms and the configuration reference are all read from these tables.
 */

export const StringFormat = {
  name: 'name',
  hostname: 'hostname',
  host: 'host',
  ip: 'ip',
  ipv4: 'ipv4',
  cidr4: 'cidr4',
  address4: 'address4',
  cidr6: 'cidr6',
  /** An IPv4 or an IPv6 network (sites' remote subnets: IPv6 only where the protocol routes it). */
  cidr: 'cidr',
  /** An IPv6 address with its prefix length (host bits allowed): an interface's own address. */
  address6: 'address6',
  interface: 'interface',
  url: 'url',
  /** An https:// URL (an ACME directory). */
  httpsUrl: 'httpsUrl',
  proposal: 'proposal',
  timezone: 'timezone',
  fingerprint: 'fingerprint',
  ntHash: 'ntHash',
  /** An absolute file path (board profiles: sysfs and device files, directories). */
  path: 'path',
} as const;
export type StringFormat = (typeof StringFormat)[keyof typeof StringFormat];

interface Common {
  readonly label: string;
  readonly help?: string;
  /** May be absent from the document. */
  readonly optional?: boolean;
}

export interface StringField extends Common {
  readonly kind: 'string';
  readonly default?: string;
  readonly format?: StringFormat;
  readonly enum?: readonly string[];
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly nullable?: boolean;
  /** Never shown: redacted in output, masked in forms. */
  readonly secret?: boolean;
}

export interface IntegerField extends Common {
  readonly kind: 'integer';
  readonly default?: number;
  readonly min: number;
  readonly max: number;
}

export interface BooleanField extends Common {
  readonly kind: 'boolean';
  readonly default?: boolean;
}

export interface ArrayField extends Common {
  readonly kind: 'array';
  readonly items: Field;
  readonly maxItems: number;
  /** Items are objects whose `name` must be unique. */
  readonly uniqueNames?: boolean;
}

export interface ObjectField extends Common {
  readonly kind: 'object';
  readonly fields: Readonly<Record<string, Field>>;
}

export type Field = StringField | IntegerField | BooleanField | ArrayField | ObjectField;
