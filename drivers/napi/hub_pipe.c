/* N-API glue for the hub's pipe: sessions whose protocol runs in JavaScript (PPP over SSTP's TLS)
 * get their packets from the shared TUN in batches, and write packets back to it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gso.h"
#include "napi_hub.h"
#include "napi_util.h"
#include "pipe.h"
#include "selector.h"

void dp_napi_hub_pipe_close(hub_handle *h) {
  if (!h->js.pipe) return;
  if (h->hub) dp_hub_set_pipe(h->hub, NULL); /* the hub's threads no longer push */
  dp_js_pipe_close(&h->js);
}

/* hubPipeAttach(handle, onPackets) → 0, -EEXIST, -ENOMEM */
napi_value dp_napi_hub_pipe_attach(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  hub_handle *h = argc == 2 ? dp_napi_hub_of(env, argv[0]) : NULL;
  if (!h) return dp_napi_int(env, -EINVAL);
  if (h->js.pipe) return dp_napi_int(env, -EEXIST);
  int rc = dp_js_pipe_open(env, argv[1], "postern-hub-pipe", &h->js);
  if (rc == 0) dp_hub_set_pipe(h->hub, h->js.pipe);
  return dp_napi_int(env, rc);
}

/* hubPipeRoute(handle, prefix, tag) → 0 or -errno: the prefix's packets go to the pipe. */
napi_value dp_napi_hub_pipe_route(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3, len = 0;
  char text[64] = "";
  uint32_t tag = 0;
  dp_prefix prefix;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  hub_handle *h = argc == 3 ? dp_napi_hub_of(env, argv[0]) : NULL;
  if (!h || !h->js.pipe || napi_get_value_string_utf8(env, argv[1], text, sizeof text, &len) != napi_ok || !dp_prefix_parse(text, &prefix) ||
      napi_get_value_uint32(env, argv[2], &tag) != napi_ok)
    return dp_napi_int(env, -EINVAL);
  return dp_napi_int(env, dp_hub_pipe_route_add(h->hub, &prefix, tag));
}

/* hubPipeUnroute(handle, tag): every route of the session goes. */
napi_value dp_napi_hub_pipe_unroute(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  uint32_t tag = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  hub_handle *h = argc == 2 ? dp_napi_hub_of(env, argv[0]) : NULL;
  if (!h || napi_get_value_uint32(env, argv[1], &tag) != napi_ok) return dp_napi_int(env, -EINVAL);
  dp_hub_pipe_routes_remove(h->hub, tag);
  return dp_napi_int(env, 0);
}

/* hubWrite(handle, packet) → bytes written or -errno: an IP packet from a session into the TUN. */
napi_value dp_napi_hub_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2, len = 0;
  const uint8_t *data = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  hub_handle *h = argc == 2 ? dp_napi_hub_of(env, argv[0]) : NULL;
  if (!h) return dp_napi_int(env, -EINVAL);
  if (!dp_napi_buffer(env, argv[1], &data, &len)) return NULL;
  if (len < 20 || len > 65535) return dp_napi_int(env, -EMSGSIZE);
  uint8_t vnet[DP_VNET_HDR_LEN] = {0}; /* no offload asked: a plain packet, checksums complete */
  struct iovec iov[2] = {{.iov_base = vnet, .iov_len = sizeof vnet}, {.iov_base = (void *)data, .iov_len = len}};
  bool offload = dp_hub_offload(h->hub);
  ssize_t n = writev(dp_hub_tun_fd(h->hub), offload ? iov : iov + 1, offload ? 2 : 1);
  return dp_napi_int(env, n < 0 ? -errno : (int32_t)(offload ? n - DP_VNET_HDR_LEN : n));
}

/* hubPipeStats(handle) → {queued, delivered, droppedFull} or undefined */
napi_value dp_napi_hub_pipe_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  hub_handle *h = argc == 1 ? dp_napi_hub_of(env, argv[0]) : NULL;
  return h && h->js.pipe ? dp_js_pipe_stats(env, &h->js) : NULL;
}
