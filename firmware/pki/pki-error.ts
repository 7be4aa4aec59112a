import { ErrorCode, PosternError } from '../util/errors.ts';

/**
 * Why a PKI operation refused its input. The API reports `details.problem`; messages name the
 * offending field but never echo keys or passwords.
 */
export const PkiProblem = {
  keyType: 'key-type',
  commonName: 'common-name',
  subjectAltName: 'subject-alt-name',
  email: 'email',
  validity: 'validity',
  certificate: 'certificate',
  privateKey: 'private-key',
  caKeyMismatch: 'ca-key-mismatch',
  notCa: 'not-a-ca',
  serial: 'serial',
  password: 'password',
  pkcs12Format: 'pkcs12-format',
  pkcs12Contents: 'pkcs12-contents',
} as const;
export type PkiProblem = (typeof PkiProblem)[keyof typeof PkiProblem];

export const pkiError = (problem: PkiProblem, message: string): PosternError =>
  new PosternError(ErrorCode.configInvalid, message, { problem });
