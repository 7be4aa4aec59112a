import { constants } from 'node:os';
import { ErrorCode, PosternError } from '../../util/errors.ts';
import { loadDriver } from '../native.ts';
import { netlinkErrno, splitMessages } from './decode.ts';

interface NetlinkAddon {
  netlinkOpen(protocol: number, groups: number): object | number;
  netlinkRequest(handle: object, message: Buffer): Buffer[] | number;
  netlinkListen(handle: object, onMessage: (datagram: Buffer) => void): number;
  netlinkClose(handle: object): number;
}

export const NETLINK_XFRM = 6;
/** nl_groups bits of XFRMNLGRP_ACQUIRE (1) and XFRMNLGRP_EXPIRE (2). */
export const XFRM_EVENT_GROUPS = 0b11;

const errnoName = (errno: number): string => Object.entries(constants.errno).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;

/** The kernel's errno as a data plane error with a stable code. */
export function kernelError(errno: number, what: string): PosternError {
  const code = errno === constants.errno.EEXIST ? ErrorCode.dataplaneExists
    : errno === constants.errno.ENOENT || errno === constants.errno.ESRCH ? ErrorCode.dataplaneNotFound
      : ErrorCode.dataplaneInvalid;
  return new PosternError(code, `${what}: the kernel said ${errnoName(errno)}`, { errno });
}

/** A netlink socket in the driver: synchronous requests, or multicast events on the event loop. */
export class NetlinkSocket {
  readonly #addon: NetlinkAddon;
  readonly #handle: object;

  private constructor(addon: NetlinkAddon, handle: object) {
    this.#addon = addon;
    this.#handle = handle;
  }

  static open(protocol: number, groups = 0): NetlinkSocket {
    const addon = loadDriver() as unknown as NetlinkAddon;
    const r = addon.netlinkOpen(protocol, groups);
    if (typeof r === 'number') throw new PosternError(ErrorCode.driverUnavailable, `no netlink socket (protocol ${protocol}): ${errnoName(-r)}`);
    return new NetlinkSocket(addon, r);
  }

  /** Sends one request; returns the answer's messages without the final acknowledgement, or throws the kernel's error. */
  request(message: Buffer, what: string): Buffer[] {
    const r = this.#addon.netlinkRequest(this.#handle, message);
    if (typeof r === 'number') throw kernelError(-r, what);
    const messages = r.flatMap((datagram) => splitMessages(datagram));
    const errno = messages.map(netlinkErrno).find((e) => e !== undefined);
    if (errno) throw kernelError(errno, what);
    return messages.filter((m) => netlinkErrno(m) === undefined);
  }

  listen(onMessage: (message: Buffer) => void): void {
    const rc = this.#addon.netlinkListen(this.#handle, (datagram) => {
      for (const message of splitMessages(datagram)) onMessage(message);
    });
    if (rc !== 0) throw new PosternError(ErrorCode.driverUnavailable, `cannot watch the netlink socket: ${errnoName(-rc)}`);
  }

  close(): void {
    this.#addon.netlinkClose(this.#handle);
  }
}
