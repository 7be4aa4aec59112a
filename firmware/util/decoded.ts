/**
 * What every protocol's decoder returns (IKE, PPP, L2TP, SSTP, RADIUS, EAP): peer input never
 * throws (STYLE.md); the error says where and why.
 */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DecodeError };

export interface DecodeError {
  /** A stable code; IKE's are the names of the Notify RFC 7296 replies with. */
  readonly code: 'INVALID_SYNTAX' | 'UNSUPPORTED_CRITICAL_PAYLOAD' | 'INVALID_MAJOR_VERSION' | 'TRUNCATED';
  readonly message: string;
  readonly offset: number;
}

export const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });
export const fail = <T>(code: DecodeError['code'], message: string, offset: number): Decoded<T> => ({ ok: false, error: { code, message, offset } });
