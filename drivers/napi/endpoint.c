/* N-API glue for the shared UDP 4500 endpoint: open, send IKE, stats, close; IKE messages go up to
 * JavaScript through a thread-safe function. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "napi_addr.h"
#include "napi_endpoint.h"
#include "napi_util.h"

typedef struct {
  size_t len;
  dp_addr from, to; /* to: family 0 when the socket did not say */
  uint8_t data[];
} ike_message;

/* Receiving thread: copy and queue; a full or closing queue drops the message (IKE retransmits). */
static void queue_ike(void *ctx, const uint8_t *msg, size_t len, const dp_addr *from, const dp_addr *to) {
  ike_message *m = malloc(sizeof *m + len);
  if (!m) return;
  m->len = len;
  m->from = *from;
  if (to) m->to = *to;
  else memset(&m->to, 0, sizeof m->to);
  memcpy(m->data, msg, len);
  if (napi_call_threadsafe_function((napi_threadsafe_function)ctx, m, napi_tsfn_nonblocking) != napi_ok) free(m);
}

/* JavaScript thread: onIke(packet, address, port, localAddress?): the local address where the socket reports it (IPv6). */
static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)context;
  ike_message *m = data;
  if (env && callback) {
    napi_value argv[4], undefined;
    char text[INET6_ADDRSTRLEN] = "";
    void *copy = NULL;
    napi_create_buffer_copy(env, m->len, m->data, &copy, &argv[0]);
    uint16_t port = dp_napi_format_addr(&m->from, text);
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &argv[1]);
    napi_create_uint32(env, port, &argv[2]);
    napi_get_undefined(env, &undefined);
    argv[3] = undefined;
    if (m->to.sa.sa_family) {
      dp_napi_format_addr(&m->to, text);
      napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &argv[3]);
    }
    napi_call_function(env, undefined, callback, 4, argv, NULL);
  }
  free(m);
}

static void close_handle(endpoint_handle *h) {
  if (!h->endpoint) return;
  dp_endpoint_close(h->endpoint); /* thread joined: nothing more is queued */
  h->endpoint = NULL;
  if (h->ike) napi_release_threadsafe_function(h->ike, napi_tsfn_release);
  h->ike = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  endpoint_handle *h = data;
  if (h->tunnels == 0) close_handle(h); /* tunnels hold a reference, so this is the last user */
  free(h);
}

endpoint_handle *dp_napi_endpoint_of(napi_env env, napi_value v) {
  endpoint_handle *h = dp_napi_external(env, v);
  return h && h->magic == ENDPOINT_MAGIC && h->endpoint ? h : NULL;
}

/* endpointOpenRaw({address}) → handle, or a negative errno: raw ESP shared by tunnels without NAT. */
napi_value dp_napi_endpoint_open_raw(napi_env env, napi_callback_info info) {
  napi_value argv[1], v;
  size_t argc = 1, len = 0;
  char text[64] = "";
  dp_addr local;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_named_property(env, argv[0], "address", &v) != napi_ok || napi_get_value_string_utf8(env, v, text, sizeof text, &len) != napi_ok ||
      !dp_napi_parse_addr(text, 0, &local)) {
    napi_throw_type_error(env, NULL, "endpointOpenRaw: expected {address}");
    return NULL;
  }
  endpoint_handle *h = calloc(1, sizeof *h);
  if (!h) return dp_napi_int(env, -ENOMEM);
  h->magic = ENDPOINT_MAGIC;
  int rc = 0;
  h->endpoint = dp_endpoint_open_raw(&local, &rc);
  if (!h->endpoint) {
    free(h);
    return dp_napi_int(env, rc);
  }
  napi_value handle;
  napi_create_external(env, h, finalize, NULL, &handle);
  return handle;
}

/* endpointOpen({address, port, onIke}) → handle, or a negative errno */
napi_value dp_napi_endpoint_open(napi_env env, napi_callback_info info) {
  napi_value argv[1], v, on_ike;
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char text[64] = "";
  size_t len = 0;
  uint32_t port = 0;
  dp_addr local;
  napi_valuetype fn_type = napi_undefined;
  if (argc < 1 || napi_get_named_property(env, argv[0], "address", &v) != napi_ok || napi_get_value_string_utf8(env, v, text, sizeof text, &len) != napi_ok ||
      napi_get_named_property(env, argv[0], "port", &v) != napi_ok ||
      napi_get_value_uint32(env, v, &port) != napi_ok || !dp_napi_parse_addr(text, port, &local) || napi_get_named_property(env, argv[0], "onIke", &on_ike) != napi_ok ||
      napi_typeof(env, on_ike, &fn_type) != napi_ok || fn_type != napi_function) {
    napi_throw_type_error(env, NULL, "endpointOpen: expected {address, port, onIke}");
    return NULL;
  }
  endpoint_handle *h = calloc(1, sizeof *h);
  if (!h) return dp_napi_int(env, -ENOMEM);
  h->magic = ENDPOINT_MAGIC;
  napi_value resource;
  napi_create_string_utf8(env, "postern-dp-ike", NAPI_AUTO_LENGTH, &resource);
  napi_create_threadsafe_function(env, on_ike, NULL, resource, 1024, 1, NULL, NULL, NULL, call_js, &h->ike);
  napi_unref_threadsafe_function(env, h->ike); /* the socket alone never keeps the process alive */
  int rc = 0;
  h->endpoint = dp_endpoint_open(&local, queue_ike, h->ike, &rc);
  if (!h->endpoint) {
    napi_release_threadsafe_function(h->ike, napi_tsfn_release);
    free(h);
    return dp_napi_int(env, rc);
  }
  napi_value handle;
  napi_create_external(env, h, finalize, NULL, &handle);
  return handle;
}

/* endpointSendIke(handle, buffer, address, port, source?) → 0 or a negative errno; `source`: the
 * local IPv6 address to send from (the one the peer wrote to), for an endpoint bound to :: */
napi_value dp_napi_endpoint_send_ike(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  size_t argc = 5;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  endpoint_handle *h = argc >= 4 ? dp_napi_endpoint_of(env, argv[0]) : NULL;
  const uint8_t *data = NULL;
  size_t len = 0;
  char text[64] = "";
  size_t tlen = 0;
  uint32_t port = 0;
  dp_addr to, source;
  bool has_source = false;
  if (!h) return dp_napi_int(env, -EBADF);
  if (!dp_napi_buffer(env, argv[1], &data, &len)) return NULL;
  if (napi_get_value_string_utf8(env, argv[2], text, sizeof text, &tlen) != napi_ok || napi_get_value_uint32(env, argv[3], &port) != napi_ok ||
      !dp_napi_parse_addr(text, port, &to)) {
    return dp_napi_int(env, -EINVAL);
  }
  napi_valuetype source_type = napi_undefined;
  if (argc == 5) napi_typeof(env, argv[4], &source_type);
  if (source_type == napi_string) {
    if (napi_get_value_string_utf8(env, argv[4], text, sizeof text, &tlen) != napi_ok || !dp_napi_parse_addr(text, 0, &source)) return dp_napi_int(env, -EINVAL);
    has_source = true;
  }
  return dp_napi_int(env, dp_endpoint_send_ike(h->endpoint, data, len, &to, has_source ? &source : NULL));
}

/* endpointStats(handle) → counters as bigints, or undefined once closed */
napi_value dp_napi_endpoint_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  endpoint_handle *h = argc == 1 ? dp_napi_endpoint_of(env, argv[0]) : NULL;
  if (!h) return NULL;
  const dp_endpoint_stats *s = dp_endpoint_stats_of(h->endpoint);
  const dp_napi_counter f[] = {
      {"rx", s->rx}, {"ike", s->ike}, {"keepalives", s->keepalives}, {"short", s->short_packets},
      {"unknownSpi", s->unknown_spi}, {"ikeSent", s->ike_sent}, {"ikeSendErrors", s->ike_send_errors},
  };
  return dp_napi_counters(env, f, sizeof f / sizeof f[0]);
}

/* endpointClose(handle) → 0, or -EBUSY while tunnels still use it */
napi_value dp_napi_endpoint_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  endpoint_handle *h = argc == 1 ? dp_napi_endpoint_of(env, argv[0]) : NULL;
  if (!h) return dp_napi_int(env, 0);
  if (h->tunnels > 0) return dp_napi_int(env, -EBUSY);
  close_handle(h);
  return dp_napi_int(env, 0);
}
