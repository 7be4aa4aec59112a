/** The API's typed errors: an HTTP status and a stable code (`POSTERN_ERR_…`) clients match on. */
export const ApiCode = {
  unauthenticated: 'POSTERN_ERR_UNAUTHENTICATED',
  csrf: 'POSTERN_ERR_CSRF',
  forbiddenOrigin: 'POSTERN_ERR_FORBIDDEN_ORIGIN',
  lockedOut: 'POSTERN_ERR_LOCKED_OUT',
  badCredentials: 'POSTERN_ERR_BAD_CREDENTIALS',
  setupDone: 'POSTERN_ERR_SETUP_DONE',
  setupRequired: 'POSTERN_ERR_SETUP_REQUIRED',
  weakPassword: 'POSTERN_ERR_WEAK_PASSWORD',
  notFound: 'POSTERN_ERR_NOT_FOUND',
  methodNotAllowed: 'POSTERN_ERR_METHOD_NOT_ALLOWED',
  badRequest: 'POSTERN_ERR_BAD_REQUEST',
  tooLarge: 'POSTERN_ERR_TOO_LARGE',
  unsupportedMediaType: 'POSTERN_ERR_UNSUPPORTED_MEDIA_TYPE',
  invalidConfig: 'POSTERN_ERR_CONFIG_INVALID',
  conflict: 'POSTERN_ERR_CONFLICT',
  applyFailed: 'POSTERN_ERR_CONFIG_APPLY_FAILED',
  unavailable: 'POSTERN_ERR_UNAVAILABLE',
  internal: 'POSTERN_ERR_INTERNAL',
} as const;
export type ApiCode = (typeof ApiCode)[keyof typeof ApiCode];

export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiCode;
  readonly details: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: ApiCode, message: string, details?: unknown, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

export const notFound = (what: string) => new ApiError(404, ApiCode.notFound, `${what} not found`);
export const badRequest = (message: string, details?: unknown) => new ApiError(400, ApiCode.badRequest, message, details);
