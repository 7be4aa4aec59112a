/**
 * Reply-Message (RFC 2865 §5.18): the server's text for the user ("account locked", "welcome"), in an
 * Accept, Reject or Challenge. Several attributes are one message, in order. Postern logs it for the
 * technician; control characters become spaces and the length is bounded, so a hostile server cannot
 * forge log lines or flood the log.
 */
import { Attr } from './attributes.ts';
import type { RadiusAttribute } from './packet.ts';

const MAX_LOGGED = 1000;

export function replyMessageOf(attributes: readonly RadiusAttribute[]): string | undefined {
  const parts = attributes.filter((a) => a.type === Attr.ReplyMessage).map((a) => Buffer.from(a.value).toString('utf8'));
  if (parts.length === 0) return undefined;
  const text = parts.join('').replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return text.length > MAX_LOGGED ? `${text.slice(0, MAX_LOGGED)}…` : text;
}
