import type { PosternConfig } from '../config/types.ts';

export type SubsystemState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' | 'unavailable';

export interface SubsystemStatus {
  readonly state: SubsystemState;
  readonly detail?: string;
  /** Limits firing and the like, by name: shown in /healthz and the MQTT status as they are. */
  readonly counters?: Readonly<Record<string, number>>;
}

/** A long-running part of the service (web, a protocol listener, telemetry) owned by the supervisor. */
export interface Subsystem {
  readonly name: string;
  start(config: PosternConfig): Promise<void>;
  /** Move to `next` in place; throwing leaves it for the supervisor to restore `previous`. */
  reconfigure(next: PosternConfig, previous: PosternConfig): Promise<void>;
  stop(): Promise<void>;
  status(): SubsystemStatus;
}

/** How the supervisor knows when a subsystem should run and when its part of the config changed. */
export interface SubsystemSpec {
  readonly name: string;
  wanted(config: PosternConfig): boolean;
  /** The part of the configuration this subsystem reads; a change in it triggers `reconfigure`. */
  slice(config: PosternConfig): unknown;
  create(): Subsystem;
}
