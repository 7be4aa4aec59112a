/* N-API glue for the shared TUN (hub): open with its device, stats, close. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "napi_hub.h"
#include "napi_util.h"
#include "tun.h"

hub_handle *dp_napi_hub_of(napi_env env, napi_value v) {
  hub_handle *h = dp_napi_external(env, v);
  return h && h->magic == HUB_MAGIC && h->hub ? h : NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  hub_handle *h = data;
  if (h->hub && h->tunnels == 0) {
    dp_napi_hub_pipe_close(h);
    dp_hub_close(h->hub);
  }
  free(h);
}

/* The device's queues: the first creates it, the rest attach to it by name. 0, or -errno with none left open. */
static int open_queues(char name[16], unsigned queues, bool offload, bool *uso, int *fds) {
  for (unsigned i = 0; i < queues; i++) {
    bool queue_uso = false;
    fds[i] = dp_tun_open(name, offload, queues > 1, false, &queue_uso);
    if (i == 0) *uso = queue_uso;
    if (fds[i] < 0) {
      int rc = fds[i];
      while (i > 0) close(fds[--i]);
      return rc;
    }
  }
  return 0;
}

/* hubOpen({name, mtu, address, prefixLength, noOffload, queues}) → {handle, name}, or a negative errno */
napi_value dp_napi_hub_open(napi_env env, napi_callback_info info) {
  napi_value argv[1], v;
  size_t argc = 1, len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[16] = "", text[64] = "";
  int32_t mtu = 0, prefix = 0;
  bool no_offload = false;
  struct in_addr address;
  if (argc < 1 || napi_get_named_property(env, argv[0], "name", &v) != napi_ok || napi_get_value_string_utf8(env, v, name, sizeof name, &len) != napi_ok ||
      napi_get_named_property(env, argv[0], "address", &v) != napi_ok || napi_get_value_string_utf8(env, v, text, sizeof text, &len) != napi_ok ||
      inet_pton(AF_INET, text, &address) != 1 || napi_get_named_property(env, argv[0], "mtu", &v) != napi_ok || napi_get_value_int32(env, v, &mtu) != napi_ok ||
      napi_get_named_property(env, argv[0], "prefixLength", &v) != napi_ok || napi_get_value_int32(env, v, &prefix) != napi_ok) {
    napi_throw_type_error(env, NULL, "hubOpen: expected {name, mtu, address, prefixLength}");
    return NULL;
  }
  no_offload = dp_napi_bool_prop(env, argv[0], "noOffload");
  uint32_t queues = 1;
  bool has_queues = false;
  if (napi_has_named_property(env, argv[0], "queues", &has_queues) == napi_ok && has_queues &&
      (napi_get_named_property(env, argv[0], "queues", &v) != napi_ok || napi_get_value_uint32(env, v, &queues) != napi_ok || queues < 1 || queues > DP_HUB_MAX_QUEUES)) {
    napi_throw_range_error(env, NULL, "hubOpen: queues must be 1 to 8");
    return NULL;
  }
  bool uso = false;
  int fds[DP_HUB_MAX_QUEUES];
  int rc = open_queues(name, queues, !no_offload, &uso, fds);
  if (rc < 0) return dp_napi_int(env, rc);
  rc = dp_tun_configure(name, mtu, address.s_addr, prefix);
  hub_handle *h = rc < 0 ? NULL : calloc(1, sizeof *h);
  if (rc == 0 && !h) rc = -ENOMEM;
  if (h) {
    h->magic = HUB_MAGIC;
    h->hub = dp_hub_open(fds, queues, !no_offload, uso, (unsigned)mtu, &rc);
  }
  if (!h || !h->hub) {
    for (unsigned i = 0; i < queues; i++) close(fds[i]);
    free(h);
    return dp_napi_int(env, rc);
  }
  napi_value result, handle, name_v;
  napi_create_external(env, h, finalize, NULL, &handle);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &name_v);
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "name", name_v);
  return result;
}

napi_value dp_napi_hub_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  hub_handle *h = argc == 1 ? dp_napi_hub_of(env, argv[0]) : NULL;
  if (!h) return NULL;
  const dp_hub_stats *s = dp_hub_stats_of(h->hub);
  const dp_napi_counter f[] = {{"tunRx", s->tun_rx}, {"noRoute", s->no_route}, {"routes", s->routes}, {"lastNoRoute", s->last_no_route}, {"multicast", s->multicast}};
  napi_value o = dp_napi_counters(env, f, sizeof f / sizeof f[0]);
  napi_value per_queue;
  napi_create_array_with_length(env, s->queues, &per_queue);
  for (unsigned i = 0; i < s->queues; i++) {
    napi_value x;
    napi_create_bigint_uint64(env, s->queue_rx[i], &x);
    napi_set_element(env, per_queue, i, x);
  }
  napi_set_named_property(env, o, "queueRx", per_queue);
  return o;
}

/* hubClose(handle) → 0, or -EBUSY while tunnels still use it */
napi_value dp_napi_hub_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  hub_handle *h = argc == 1 ? dp_napi_hub_of(env, argv[0]) : NULL;
  if (!h) return dp_napi_int(env, 0);
  if (h->tunnels > 0) return dp_napi_int(env, -EBUSY);
  dp_napi_hub_pipe_close(h);
  dp_hub_close(h->hub);
  h->hub = NULL;
  return dp_napi_int(env, 0);
}
