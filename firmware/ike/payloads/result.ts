/** IKE's codecs share every protocol's decoder result (RFC 7296 names its error codes). */
export { fail, ok, type Decoded, type DecodeError } from '../../util/decoded.ts';
