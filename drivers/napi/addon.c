/* N-API glue for the data plane: thin wrappers over drivers/lib, no packet logic here. */
#include <node_api.h>

#include "dp_version.h"
#include "napi_util.h"

napi_value dp_napi_create_sa(napi_env env, napi_callback_info info);
napi_value dp_napi_sa_encrypt(napi_env env, napi_callback_info info);
napi_value dp_napi_sa_decrypt(napi_env env, napi_callback_info info);
napi_value dp_napi_sa_counters(napi_env env, napi_callback_info info);
napi_value dp_napi_sa_set_next_seq(napi_env env, napi_callback_info info);
napi_value dp_napi_status_name(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_start(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_stop(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_stats(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_add_inbound(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_set_outbound(napi_env env, napi_callback_info info);
napi_value dp_napi_tunnel_remove_inbound(napi_env env, napi_callback_info info);

static napi_value get_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_string_utf8(env, dp_version(), NAPI_AUTO_LENGTH, &out);
  return out;
}

static void export_fn(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

static napi_value init(napi_env env, napi_value exports) {
  export_fn(env, exports, "version", get_version);
  export_fn(env, exports, "createSa", dp_napi_create_sa);
  export_fn(env, exports, "saEncrypt", dp_napi_sa_encrypt);
  export_fn(env, exports, "saDecrypt", dp_napi_sa_decrypt);
  export_fn(env, exports, "saCounters", dp_napi_sa_counters);
  export_fn(env, exports, "saSetNextSeq", dp_napi_sa_set_next_seq);
  export_fn(env, exports, "statusName", dp_napi_status_name);
  export_fn(env, exports, "tunnelStart", dp_napi_tunnel_start);
  export_fn(env, exports, "tunnelStop", dp_napi_tunnel_stop);
  export_fn(env, exports, "tunnelStats", dp_napi_tunnel_stats);
  export_fn(env, exports, "tunnelAddInbound", dp_napi_tunnel_add_inbound);
  export_fn(env, exports, "tunnelSetOutbound", dp_napi_tunnel_set_outbound);
  export_fn(env, exports, "tunnelRemoveInbound", dp_napi_tunnel_remove_inbound);
  napi_set_named_property(env, exports, "abi", dp_napi_int(env, POSTERN_DP_ABI));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
