/**
 * Framed-Route (RFC 2865 §5.22): a network behind the user that the NAS routes to the user's
 * session. The text is "<prefix>[/<length>] <gateway> <metric>…"; some servers write a dotted
 * mask instead of the length ("192.168.1.0 255.255.255.0 0.0.0.0 1"). The gateway (0.0.0.0: the
 * user's own address) and metrics mean nothing on a point-to-point session and are ignored. Pure:
 * a route that cannot be read, or is wider than a /8 (it would pull the gateway's own traffic into
 * one user's session), is left out and named in `refused`.
 */
import { parseIp } from '../util/ip.ts';

/** The widest network a Framed-Route may carry into a session. */
export const WIDEST_FRAMED_ROUTE = 8;

const maskLength = (mask: string): number | undefined => {
  const ip = parseIp(mask);
  if (ip?.family !== 4) return undefined;
  const bits = ip.bytes.readUInt32BE(0);
  const length = 32 - Math.log2((~bits >>> 0) + 1);
  return Number.isInteger(length) ? length : undefined;
};

/** "10.20.0.0/16" (host bits cleared), or why not. */
export function parseFramedRoute(text: string): { prefix: string } | { refused: string } {
  const [destination = '', second] = text.trim().split(/\s+/);
  const [address = '', lengthText] = destination.split('/');
  const ip = parseIp(address);
  const length = lengthText !== undefined ? (/^\d{1,2}$/.test(lengthText) ? Number(lengthText) : undefined) : second !== undefined && second.startsWith('255.') ? maskLength(second) : 32;
  if (ip?.family !== 4 || length === undefined || length > 32) return { refused: `'${text}' is not an IPv4 route` };
  if (length < WIDEST_FRAMED_ROUTE) return { refused: `'${text}' is wider than a /${WIDEST_FRAMED_ROUTE}` };
  const value = length === 0 ? 0 : (ip.bytes.readUInt32BE(0) & (0xffffffff << (32 - length))) >>> 0;
  const network = [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
  return { prefix: `${network}/${length}` };
}
