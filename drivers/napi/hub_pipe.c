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

#define DRAIN_BATCH 512
#define PIPE_MAX_PACKETS 8192
#define PIPE_MAX_BYTES (16u << 20)

/* The hub's thread: the queue turned non-empty. */
static void wake(void *ctx) { napi_call_threadsafe_function((napi_threadsafe_function)ctx, NULL, napi_tsfn_nonblocking); }

typedef struct {
  napi_env env;
  napi_value array;
  uint32_t n;
} batch;

static void add_to_batch(void *ctx, uint32_t tag, const uint8_t *packet, size_t len) {
  batch *b = ctx;
  napi_value pair, t, buf;
  void *copy = NULL;
  napi_create_array_with_length(b->env, 2, &pair);
  napi_create_uint32(b->env, tag, &t);
  napi_create_buffer_copy(b->env, len, packet, &copy, &buf);
  napi_set_element(b->env, pair, 0, t);
  napi_set_element(b->env, pair, 1, buf);
  napi_set_element(b->env, b->array, b->n++, pair);
}

/* JavaScript thread: onPackets([[tag, packet], ...]); a full batch asks for another turn. */
static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)data;
  hub_handle *h = context;
  if (!env || !callback || !h->pipe) return;
  batch b = {.env = env, .n = 0};
  napi_create_array(env, &b.array);
  size_t n = dp_pipe_drain(h->pipe, DRAIN_BATCH, add_to_batch, &b);
  if (n == DRAIN_BATCH) napi_call_threadsafe_function(h->pipe_fn, NULL, napi_tsfn_nonblocking);
  if (n == 0) return;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, callback, 1, &b.array, NULL);
}

void dp_napi_hub_pipe_close(hub_handle *h) {
  if (!h->pipe) return;
  if (h->hub) dp_hub_set_pipe(h->hub, NULL); /* the hub's thread no longer pushes */
  dp_pipe_close(h->pipe);
  h->pipe = NULL;
  napi_release_threadsafe_function(h->pipe_fn, napi_tsfn_release);
  h->pipe_fn = NULL;
}

/* hubPipeAttach(handle, onPackets) → 0, -EEXIST, -ENOMEM */
napi_value dp_napi_hub_pipe_attach(napi_env env, napi_callback_info info) {
  napi_value argv[2], resource;
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  hub_handle *h = argc == 2 ? dp_napi_hub_of(env, argv[0]) : NULL;
  if (!h) return dp_napi_int(env, -EINVAL);
  if (h->pipe) return dp_napi_int(env, -EEXIST);
  napi_create_string_utf8(env, "postern-hub-pipe", NAPI_AUTO_LENGTH, &resource);
  if (napi_create_threadsafe_function(env, argv[1], NULL, resource, 0, 1, NULL, NULL, h, call_js, &h->pipe_fn) != napi_ok) return dp_napi_int(env, -EINVAL);
  napi_unref_threadsafe_function(env, h->pipe_fn); /* the pipe alone never keeps the process alive */
  h->pipe = dp_pipe_open(PIPE_MAX_PACKETS, PIPE_MAX_BYTES, wake, h->pipe_fn);
  if (!h->pipe) {
    napi_release_threadsafe_function(h->pipe_fn, napi_tsfn_release);
    h->pipe_fn = NULL;
    return dp_napi_int(env, -ENOMEM);
  }
  dp_hub_set_pipe(h->hub, h->pipe);
  return dp_napi_int(env, 0);
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
  if (!h || !h->pipe || napi_get_value_string_utf8(env, argv[1], text, sizeof text, &len) != napi_ok || !dp_prefix_parse(text, &prefix) ||
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
  if (!h || !h->pipe) return NULL;
  const dp_pipe_stats *s = dp_pipe_stats_of(h->pipe);
  const struct { const char *name; uint64_t v; } f[] = {{"queued", s->queued}, {"delivered", s->delivered}, {"droppedFull", s->dropped_full}};
  napi_value o;
  napi_create_object(env, &o);
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    napi_value x;
    napi_create_bigint_uint64(env, f[i].v, &x);
    napi_set_named_property(env, o, f[i].name, x);
  }
  return o;
}
