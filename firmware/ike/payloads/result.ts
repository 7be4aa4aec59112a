/** What every decoder returns: peer input never throws (STYLE.md); the error says where and why. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: DecodeError };

export interface DecodeError {
  /** A stable code; where RFC 7296 names the reply, it is that Notify's name. */
  readonly code: 'INVALID_SYNTAX' | 'UNSUPPORTED_CRITICAL_PAYLOAD' | 'INVALID_MAJOR_VERSION' | 'TRUNCATED';
  readonly message: string;
  readonly offset: number;
}

export const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });
export const fail = <T>(code: DecodeError['code'], message: string, offset: number): Decoded<T> => ({ ok: false, error: { code, message, offset } });
