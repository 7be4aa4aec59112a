/** linux/xfrm.h numbers, by their kernel names. */

export const XfrmMsg = {
  newSa: 0x10,
  delSa: 0x11,
  getSa: 0x12,
  newPolicy: 0x13,
  delPolicy: 0x14,
  getPolicy: 0x15,
  allocSpi: 0x16,
  acquire: 0x17,
  expire: 0x18,
  updPolicy: 0x19,
  updSa: 0x1a,
  polExpire: 0x1b,
} as const;

export const XfrmAttr = {
  algCrypt: 2,
  encap: 4,
  tmpl: 5,
  srcAddr: 13,
  algAead: 18,
  algAuthTrunc: 20,
  replayEsnVal: 23,
} as const;

export const XFRM_MODE_TRANSPORT = 0;
export const XFRM_MODE_TUNNEL = 1;
export const XFRM_POLICY_IN = 0;
export const XFRM_POLICY_OUT = 1;
export const XFRM_POLICY_FWD = 2;
export const XFRM_POLICY_ALLOW = 0;
export const XFRM_POLICY_BLOCK = 1;
export const XFRM_STATE_ESN = 128;
export const UDP_ENCAP_ESPINUDP = 2;
export const IPPROTO_ESP = 50;
export const AF_INET = 2;
export const AF_INET6 = 10;
/** "No limit" for lifetimes: all ones. */
export const XFRM_INF = 0xffff_ffff_ffff_ffffn;

/** Sizes of the fixed structs (x86_64, arm64 and armv7 EABI agree: u64 is 8-aligned on all three). */
export const SizeOf = {
  selector: 56,
  id: 24,
  lifetimeCfg: 64,
  lifetimeCur: 32,
  usersaInfo: 224,
  usersaId: 24,
  userpolicyInfo: 168,
  userpolicyId: 64,
  userspiInfo: 232,
  userTmpl: 64,
  encapTmpl: 24,
  algoName: 64,
} as const;
