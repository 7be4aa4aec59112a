/* N-API glue for PPP data sessions (ppp_data.h, issue 20): made from JavaScript's view of the
 * session once its IPCP or IPV6CP is open, attached to the transport tunnels of its client's path,
 * counters read without a round trip through the packets, released when the session ends. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "napi_util.h"
#include "ppp_data.h"
#include "tunnel.h"

#define PPP_MAGIC 0x50505044u /* "PPPD" */

typedef struct {
  unsigned magic;
  dp_ppp_session *session; /* NULL once released */
} ppp_handle;

dp_tunnel *dp_napi_tunnel_of(napi_env env, napi_value v);

static ppp_handle *handle_of(napi_env env, napi_value v) {
  ppp_handle *h = dp_napi_external(env, v);
  return h && h->magic == PPP_MAGIC && h->session ? h : NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  ppp_handle *h = data;
  if (h->session) dp_tunnel_ppp_release(h->session);
  free(h);
}

static bool u16_prop(napi_env env, napi_value o, const char *name, uint16_t *out) {
  napi_value v;
  uint32_t x = 0;
  if (napi_get_named_property(env, o, name, &v) != napi_ok || napi_get_value_uint32(env, v, &x) != napi_ok || x > 0xffff) return false;
  *out = (uint16_t)x;
  return true;
}

bool dp_napi_sources_prop(napi_env env, napi_value o, dp_prefix_set *set); /* also PPTP's (pptp.c) */
bool dp_napi_sources_prop(napi_env env, napi_value o, dp_prefix_set *set) {
  napi_value list;
  bool is_array = false;
  uint32_t n = 0;
  if (napi_get_named_property(env, o, "sources", &list) != napi_ok || napi_is_array(env, list, &is_array) != napi_ok || !is_array) return false;
  napi_get_array_length(env, list, &n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    char text[64];
    size_t len = 0;
    napi_get_element(env, list, i, &item);
    if (napi_get_value_string_utf8(env, item, text, sizeof text, &len) != napi_ok || !dp_prefix_set_add(set, text)) return false;
  }
  return n > 0;
}

/* pppSessionOpen({tunnelId, sessionId, peerTunnelId, peerSessionId, localPort, peerPort, mtu, sources}) → handle, or a negative errno */
napi_value dp_napi_ppp_session_open(napi_env env, napi_callback_info info) {
  napi_value argv[1], v, handle;
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  dp_ppp_config c = {.lower = DP_PPP_LOWER_L2TP};
  uint16_t local_port = 0, peer_port = 0, mtu = 0;
  if (argc < 1 || !u16_prop(env, argv[0], "tunnelId", &c.tunnel_id) || !u16_prop(env, argv[0], "sessionId", &c.session_id) ||
      !u16_prop(env, argv[0], "peerTunnelId", &c.peer_tunnel_id) || !u16_prop(env, argv[0], "peerSessionId", &c.peer_session_id) ||
      !u16_prop(env, argv[0], "localPort", &local_port) || !u16_prop(env, argv[0], "peerPort", &peer_port) || !u16_prop(env, argv[0], "mtu", &mtu) ||
      !dp_napi_sources_prop(env, argv[0], &c.sources) || mtu < 576) {
    napi_throw_type_error(env, NULL, "pppSessionOpen: bad configuration");
    return NULL;
  }
  (void)v;
  c.local_port = htons(local_port);
  c.peer_port = htons(peer_port);
  c.mtu = mtu;
  ppp_handle *h = calloc(1, sizeof *h);
  if (!h) return dp_napi_int(env, -ENOMEM);
  h->magic = PPP_MAGIC;
  h->session = dp_ppp_session_new(&c);
  if (!h->session) {
    free(h);
    return dp_napi_int(env, -EINVAL);
  }
  napi_create_external(env, h, finalize, NULL, &handle);
  return handle;
}

/* pppSessionAttach(session, tunnel) → 0 or -errno: the tunnel carries the session from now on. */
napi_value dp_napi_ppp_session_attach(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  ppp_handle *h = argc == 2 ? handle_of(env, argv[0]) : NULL;
  dp_tunnel *t = argc == 2 ? dp_napi_tunnel_of(env, argv[1]) : NULL;
  if (!h || !t) return dp_napi_int(env, -EBADF);
  return dp_napi_int(env, dp_tunnel_ppp_attach(t, h->session));
}

/* pppSessionDetach(session, tunnel) → 0 or -errno */
napi_value dp_napi_ppp_session_detach(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  ppp_handle *h = argc == 2 ? handle_of(env, argv[0]) : NULL;
  dp_tunnel *t = argc == 2 ? dp_napi_tunnel_of(env, argv[1]) : NULL;
  if (!h || !t) return dp_napi_int(env, -EBADF);
  dp_tunnel_ppp_detach(t, h->session);
  return dp_napi_int(env, 0);
}

/* pppSessionStats(session) → counters, or undefined once released */
napi_value dp_napi_ppp_session_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  ppp_handle *h = argc == 1 ? handle_of(env, argv[0]) : NULL;
  if (!h) return NULL;
  const dp_ppp_stats *s = dp_ppp_session_stats(h->session);
  size_t tunnels = 0;
  for (size_t i = 0; i < DP_PPP_MAX_LOWERS; i++) tunnels += dp_ppp_session_linked(h->session, i) != NULL;
  const dp_napi_counter f[] = {{"rxPackets", s->rx_packets}, {"rxBytes", s->rx_bytes}, {"txPackets", s->tx_packets}, {"txBytes", s->tx_bytes},
                               {"up", s->up}, {"dropSource", s->drop_source}, {"dropMalformed", s->drop_malformed}, {"dropTx", s->drop_tx}, {"tunnels", tunnels}};
  return dp_napi_counters(env, f, sizeof f / sizeof f[0]);
}

/* pppSessionRelease(session): off every tunnel (routes included), freed; its counters are gone. */
napi_value dp_napi_ppp_session_release(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  ppp_handle *h = argc == 1 ? handle_of(env, argv[0]) : NULL;
  if (h) {
    dp_tunnel_ppp_release(h->session);
    h->session = NULL;
  }
  return dp_napi_int(env, 0);
}
