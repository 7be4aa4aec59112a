/**
 * MQTT 5 request/response for telemetry commands (issue 26; MQTT 5.0 §4.10): where a command's reply
 * goes and whether the command may still run. Pure: the request's properties, the box's reply topic
 * and the clock in; a route out.
 *
 * - Response Topic (§3.3.2.3.5) and Correlation Data (§3.3.2.3.6): the reply is published there with
 *   the same correlation data. Only a topic under the box's own reply topic (`<prefix>/<id>/reply`
 *   or below it) is taken: whoever may publish commands must not make the box write anywhere else
 *   (its own state, another box's desired topic), whatever the broker's ACL allows. Without a
 *   response topic (MQTT 3.1.1 consoles) the reply goes to `<prefix>/<id>/reply` as before.
 * - Message Expiry Interval (§3.3.2.3.3): the broker forwards the time left; a command whose time
 *   has run out before it runs (waiting behind another command) is not executed, and not answered.
 * - A retained command runs only with an expiry: one without would run again at every reconnect.
 */

export interface RequestProperties {
  readonly responseTopic?: string;
  readonly correlationData?: Buffer;
  /** Seconds left, as the broker forwarded it. */
  readonly messageExpiryInterval?: number;
}

export type CommandRoute =
  | { readonly kind: 'run'; readonly replyTopic: string; readonly correlationData?: Buffer; readonly expiresAt?: number }
  /** Answered with this error on the box's reply topic (with the correlation data), not run. */
  | { readonly kind: 'refuse'; readonly replyTopic: string; readonly correlationData?: Buffer; readonly error: string }
  /** Neither run nor answered. */
  | { readonly kind: 'drop'; readonly why: 'expired' | 'retained-without-expiry' };

const MAX_RESPONSE_TOPIC = 256;
const MAX_CORRELATION_DATA = 256;

export function routeCommand(props: RequestProperties | undefined, ctx: { readonly replyTopic: string; readonly receivedAt: number; readonly retained: boolean }): CommandRoute {
  const interval = props?.messageExpiryInterval;
  if (ctx.retained && interval === undefined) return { kind: 'drop', why: 'retained-without-expiry' };
  if (interval !== undefined && interval <= 0) return { kind: 'drop', why: 'expired' };
  const expiresAt = interval !== undefined ? ctx.receivedAt + interval * 1000 : undefined;
  const correlationData = props?.correlationData;
  const correlation = correlationData !== undefined ? { correlationData } : {};
  if (correlationData !== undefined && correlationData.length > MAX_CORRELATION_DATA) {
    return { kind: 'refuse', replyTopic: ctx.replyTopic, error: `correlation data longer than ${MAX_CORRELATION_DATA} bytes` };
  }
  const asked = props?.responseTopic;
  if (asked === undefined) return { kind: 'run', replyTopic: ctx.replyTopic, ...correlation, ...(expiresAt !== undefined ? { expiresAt } : {}) };
  const under = asked === ctx.replyTopic || asked.startsWith(`${ctx.replyTopic}/`);
  if (!under || asked.length > MAX_RESPONSE_TOPIC || /[+#\0]/.test(asked)) {
    return { kind: 'refuse', replyTopic: ctx.replyTopic, ...correlation, error: `the response topic must be ${ctx.replyTopic} or below it` };
  }
  return { kind: 'run', replyTopic: asked, ...correlation, ...(expiresAt !== undefined ? { expiresAt } : {}) };
}

/** Checked again right before the command runs. */
export const expiredBy = (route: { readonly expiresAt?: number }, now: number): boolean => route.expiresAt !== undefined && now >= route.expiresAt;
