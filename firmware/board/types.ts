/**
 * A board profile: what Postern needs to know about the hardware it runs on, as data
 * (board/<name>.json, checked against schema.ts). The running service takes interface roles, LEDs,
 * the reset button and the watchdog from it; the image build takes the architecture and storage.
 */

/** armv7: 32-bit ARM with NEON (hard float); a package for the distribution's Node, not a single executable. */
export const BoardArchitecture = { arm64: 'arm64', armv7: 'armv7', x64: 'x64' } as const;
export type BoardArchitecture = (typeof BoardArchitecture)[keyof typeof BoardArchitecture];

/** wan: the uplink the listeners bind and follow; lan: the office side; spare: present, unused by default. */
export type InterfaceRole = 'wan' | 'lan' | 'spare';

/** What an LED shows: power (on while running), WAN up, at least one tunnel up, an error. */
export type LedShows = 'power' | 'wan-up' | 'tunnels-up' | 'error';

export interface BoardInterface {
  /** The kernel's name for it (after the distribution's renaming, if any). */
  readonly name: string;
  readonly role: InterfaceRole;
  /** What the case says next to the port. */
  readonly label: string;
}

export interface BoardLed {
  /** The LED's directory under /sys/class/leds. */
  readonly path: string;
  readonly shows: LedShows;
}

export interface ResetButton {
  /** The evdev device that reports the button. */
  readonly input: string;
  /** Its key code (linux/input-event-codes.h), e.g. KEY_RESTART = 408. */
  readonly keyCode: number;
  /** Held this long, it resets the box to factory state. */
  readonly holdSeconds: number;
}

export type StorageLayout = 'ab-slots' | 'image-path';

export interface BoardStorage {
  /** Where configuration, keys and users live; survives upgrades. */
  readonly stateDir: string;
  readonly layout: StorageLayout;
  /** ab-slots: the two block devices or files the executable is written to in turn. */
  readonly slots?: { readonly a: string; readonly b: string };
  /** image-path: the one executable, replaced in place by the distribution's means. */
  readonly imagePath?: string;
}

export interface KernelFeatures {
  /** XFRM with ESP: the kernel data-plane back end can be used. */
  readonly xfrmEsp: boolean;
  /** Multi-queue TUN (IFF_MULTI_QUEUE). */
  readonly multiqueueTun: boolean;
  /** UDP segmentation offload (UDP_SEGMENT) for ESP in UDP. */
  readonly udpSegmentationOffload: boolean;
}

export interface BoardProfile {
  readonly name: string;
  readonly title: string;
  readonly architecture: BoardArchitecture;
  readonly interfaces: readonly BoardInterface[];
  readonly leds: readonly BoardLed[];
  /** Absent: the board has no reset button (factory reset only through the API). */
  readonly resetButton?: ResetButton;
  /** null: no hardware watchdog. */
  readonly watchdog: string | null;
  readonly storage: BoardStorage;
  readonly kernel: KernelFeatures;
  /** Where the names come from and what is still to be checked on hardware. */
  readonly notes?: string;
  /** Zero-touch enrollment (issue 26): set at the factory; absent, a fresh box talks to no broker. */
  readonly fleet?: BoardFleet;
}

export interface BoardFleet {
  /** mqtts://host:port (mqtt:// only for a lab); absent: found by DNS SRV under `discoveryDomain`. */
  readonly broker?: string;
  /** The domain whose `_secure-mqtt._tcp` SRV names the broker, or `dhcp` (the WAN's DHCP-given domain). */
  readonly discoveryDomain?: string;
  /** Also `_mqtt._tcp` (unencrypted): a lab only. */
  readonly discoveryPlain?: boolean;
  /** The DHCP client's lease file, whose site-specific option (224 unless `dhcpOption`) names the broker (dhcp-broker-option.ts). */
  readonly dhcpLeaseFile?: string;
  readonly dhcpLeaseFormat?: 'dhclient' | 'networkd';
  readonly dhcpOption?: number;
  readonly prefix?: string;
  /** The operators' Ed25519 public keys a fresh box trusts for its desired configuration. */
  readonly operatorKeys: readonly string[];
  readonly groups?: readonly string[];
  /** A file holding the box's serial (e.g. /proc/device-tree/serial-number); else the WAN port's MAC. */
  readonly serialFile?: string;
  /** The per-device certificate and key (PEM files written at the factory), for the broker's TLS. */
  readonly certificate?: string;
  readonly key?: string;
  /** The CA that signed the broker's certificate, when not a public one. */
  readonly ca?: string;
  /**
   * A file holding a one-time enrollment token: without a factory certificate the box exchanges it
   * for one (token-enrollment.ts) on `enrollmentBroker` (else `broker`), as user = serial, password = token.
   */
  readonly enrollmentTokenFile?: string;
  readonly enrollmentBroker?: string;
}
