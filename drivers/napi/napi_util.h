/* Small N-API helpers shared by the glue files. */
#ifndef POSTERN_NAPI_UTIL_H
#define POSTERN_NAPI_UTIL_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline napi_value dp_napi_int(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

static inline napi_value dp_napi_boolean(napi_env env, bool v) {
  napi_value out;
  napi_get_boolean(env, v, &out);
  return out;
}

/* The pointer an External value wraps, or NULL for anything else (the caller checks its magic). */
static inline void *dp_napi_external(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype type = napi_undefined;
  napi_typeof(env, v, &type);
  return type == napi_external && napi_get_value_external(env, v, &p) == napi_ok ? p : NULL;
}

/* A Buffer/TypedArray argument; false (with a TypeError thrown) when it is not one. */
static inline bool dp_napi_buffer(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  bool is = false;
  napi_is_buffer(env, v, &is);
  if (!is) {
    napi_throw_type_error(env, NULL, "expected a Buffer");
    return false;
  }
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
}

static inline void dp_napi_buffer_prop(napi_env env, napi_value obj, const char *name, const uint8_t **data, size_t *len) {
  napi_value v;
  bool is = false;
  *data = NULL;
  *len = 0;
  if (napi_get_named_property(env, obj, name, &v) == napi_ok && napi_is_buffer(env, v, &is) == napi_ok && is) {
    napi_get_buffer_info(env, v, (void **)data, len);
  }
}

static inline bool dp_napi_bool_prop(napi_env env, napi_value obj, const char *name) {
  napi_value v;
  bool out = false;
  if (napi_get_named_property(env, obj, name, &v) == napi_ok) napi_get_value_bool(env, v, &out);
  return out;
}

/* Counters as a plain object of bigints, from a table of names and values. */
typedef struct {
  const char *name;
  uint64_t v;
} dp_napi_counter;

static inline napi_value dp_napi_counters(napi_env env, const dp_napi_counter *f, size_t n) {
  napi_value o;
  napi_create_object(env, &o);
  for (size_t i = 0; i < n; i++) {
    napi_value x;
    napi_create_bigint_uint64(env, f[i].v, &x);
    napi_set_named_property(env, o, f[i].name, x);
  }
  return o;
}

#endif
