/**
 * Typed errors with stable codes: the API and the CLI report `code`, tests match on it,
 * and the message may be reworded without breaking anyone.
 */
export const ErrorCode = {
  configInvalid: 'POSTERN_ERR_CONFIG_INVALID',
  configUnreadable: 'POSTERN_ERR_CONFIG_UNREADABLE',
  configConflict: 'POSTERN_ERR_CONFIG_CONFLICT',
  configApplyFailed: 'POSTERN_ERR_CONFIG_APPLY_FAILED',
  configMigration: 'POSTERN_ERR_CONFIG_MIGRATION',
  usage: 'POSTERN_ERR_USAGE',
  driverUnavailable: 'POSTERN_ERR_DRIVER_UNAVAILABLE',
  dataplaneExists: 'POSTERN_ERR_DATAPLANE_EXISTS',
  dataplaneNotFound: 'POSTERN_ERR_DATAPLANE_NOT_FOUND',
  dataplaneInvalid: 'POSTERN_ERR_DATAPLANE_INVALID',
  subsystemFailed: 'POSTERN_ERR_SUBSYSTEM_FAILED',
  internal: 'POSTERN_ERR_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class PosternError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PosternError';
    this.code = code;
    this.details = details;
  }
}

export const isPosternError = (e: unknown, code?: ErrorCode): e is PosternError =>
  e instanceof PosternError && (code === undefined || e.code === code);
