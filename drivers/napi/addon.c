/* N-API glue for the data plane: thin wrappers over drivers/lib, no packet logic here. */
#include <node_api.h>
#include "dp_version.h"

static napi_value get_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_string_utf8(env, dp_version(), NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, abi;
  napi_create_function(env, "version", NAPI_AUTO_LENGTH, get_version, NULL, &fn);
  napi_set_named_property(env, exports, "version", fn);
  napi_create_uint32(env, POSTERN_DP_ABI, &abi);
  napi_set_named_property(env, exports, "abi", abi);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
