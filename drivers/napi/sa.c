/* N-API wrappers for ESP SAs: a JS-held external owning a dp_sa. This is the slow path and the
 * test path; the packet loops keep SAs in C and never call through here per packet. */
#include <stdlib.h>
#include <string.h>

#include "esp.h"
#include "napi_util.h"

static void free_sa(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  dp_sa_free((dp_sa *)data);
}

static dp_sa *sa_arg(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) napi_throw_type_error(env, NULL, "not an SA handle");
  return (dp_sa *)p;
}

static uint64_t u64_prop(napi_env env, napi_value obj, const char *name) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_bigint) {
    uint64_t out;
    bool lossless;
    napi_get_value_bigint_uint64(env, v, &out, &lossless);
    return out;
  }
  if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    return d > 0 ? (uint64_t)d : 0;
  }
  return 0;
}

/* createSa({spi, suite, esn, replayWindow, encKey, integKey?, softBytes?, ...}) → handle, or a negative status */
napi_value dp_napi_create_sa(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  dp_sa_config c;
  memset(&c, 0, sizeof c);
  c.spi = (uint32_t)u64_prop(env, argv[0], "spi");
  c.suite = (dp_suite)u64_prop(env, argv[0], "suite");
  c.esn = u64_prop(env, argv[0], "esn") != 0 || dp_napi_bool_prop(env, argv[0], "esn");
  c.replay_window = (uint32_t)u64_prop(env, argv[0], "replayWindow");
  c.soft_bytes = u64_prop(env, argv[0], "softBytes");
  c.hard_bytes = u64_prop(env, argv[0], "hardBytes");
  c.soft_packets = u64_prop(env, argv[0], "softPackets");
  c.hard_packets = u64_prop(env, argv[0], "hardPackets");
  dp_napi_buffer_prop(env, argv[0], "encKey", &c.enc_key, &c.enc_key_len);
  dp_napi_buffer_prop(env, argv[0], "integKey", &c.integ_key, &c.integ_key_len);
  dp_status st;
  dp_sa *sa = dp_sa_new(&c, &st);
  if (!sa) return dp_napi_int(env, st);
  napi_value handle;
  napi_create_external(env, sa, free_sa, NULL, &handle);
  return handle;
}

/* saEncrypt(handle, payload, nextHeader, iv?) → Buffer, or a negative status */
napi_value dp_napi_sa_encrypt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  size_t argc = 4;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  dp_sa *sa = sa_arg(env, argv[0]);
  if (!sa) return NULL;
  const uint8_t *payload, *iv = NULL;
  size_t payload_len, iv_len = 0;
  uint32_t next_header;
  if (!dp_napi_buffer(env, argv[1], &payload, &payload_len)) return NULL;
  napi_get_value_uint32(env, argv[2], &next_header);
  if (argc > 3) dp_napi_buffer(env, argv[3], &iv, &iv_len);
  size_t cap = payload_len + dp_esp_overhead(sa, payload_len);
  void *data;
  napi_value out;
  napi_create_buffer(env, cap, &data, &out);
  size_t len = 0;
  dp_status st = dp_esp_encrypt(sa, payload, payload_len, (uint8_t)next_header, iv_len ? iv : NULL, data, cap, &len);
  return st == DP_OK ? out : dp_napi_int(env, st);
}

/* saDecrypt(handle, packet) → {payload, nextHeader}, or a negative status */
napi_value dp_napi_sa_decrypt(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  dp_sa *sa = sa_arg(env, argv[0]);
  const uint8_t *packet;
  size_t len;
  if (!sa || !dp_napi_buffer(env, argv[1], &packet, &len)) return NULL;
  uint8_t *plain = malloc(len ? len : 1);
  size_t out_len = 0;
  uint8_t nh = 0;
  dp_status st = dp_esp_decrypt(sa, packet, len, plain, len, &out_len, &nh);
  napi_value result = dp_napi_int(env, st);
  if (st == DP_OK) {
    napi_value payload;
    void *copy;
    napi_create_buffer_copy(env, out_len, plain, &copy, &payload);
    napi_create_object(env, &result);
    napi_set_named_property(env, result, "payload", payload);
    napi_set_named_property(env, result, "nextHeader", dp_napi_int(env, nh));
  }
  free(plain);
  return result;
}

/* saCounters(handle) → {packets, bytes, drops…, softExpired, hardExpired} (bigints) */
napi_value dp_napi_sa_counters(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  dp_sa *sa = sa_arg(env, argv[0]);
  if (!sa) return NULL;
  const dp_sa_counters snapshot = dp_sa_counters_of(sa), *c = &snapshot;
  napi_value o;
  napi_create_object(env, &o);
  const struct { const char *name; uint64_t v; } fields[] = {
      {"packets", c->packets}, {"bytes", c->bytes}, {"dropShort", c->drop_short}, {"dropReplay", c->drop_replay},
      {"dropAuth", c->drop_auth}, {"dropPadding", c->drop_padding}, {"dropSpi", c->drop_spi},
      {"dropExpired", c->drop_expired}, {"dropOther", c->drop_other},
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    napi_value v;
    napi_create_bigint_uint64(env, fields[i].v, &v);
    napi_set_named_property(env, o, fields[i].name, v);
  }
  napi_set_named_property(env, o, "softExpired", dp_napi_boolean(env, c->soft_expired));
  napi_set_named_property(env, o, "hardExpired", dp_napi_boolean(env, c->hard_expired));
  return o;
}

/* saSetNextSeq(handle, bigint): known-answer tests only. */
napi_value dp_napi_sa_set_next_seq(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  dp_sa *sa = sa_arg(env, argv[0]);
  uint64_t seq;
  bool lossless;
  if (sa && napi_get_value_bigint_uint64(env, argv[1], &seq, &lossless) == napi_ok) dp_sa_set_next_seq(sa, seq);
  return NULL;
}

napi_value dp_napi_status_name(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  int32_t code = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &code);
  napi_value s;
  napi_create_string_utf8(env, dp_status_name((dp_status)code), NAPI_AUTO_LENGTH, &s);
  return s;
}
