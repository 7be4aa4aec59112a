/* N-API glue for PPTP's GRE data channel (pptp_gre.h): open on an address with a callback that
 * gets the calls' PPP frames in batches, calls in and out, frames sent, counters; a call's PPP data
 * path in C with its MPPE state (issue 22). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include <string.h>

#include "js_pipe.h"
#include "napi_hub.h"
#include "napi_util.h"
#include "pptp_gre.h"

bool dp_napi_sources_prop(napi_env env, napi_value o, dp_prefix_set *set);

#define PPTP_MAGIC 0x50505450u /* "PPTP" */

typedef struct {
  unsigned magic;
  dp_pptp *pptp; /* NULL once closed */
  dp_js_pipe js;
} pptp_handle;

static pptp_handle *handle_of(napi_env env, napi_value v) {
  pptp_handle *h = dp_napi_external(env, v);
  return h && h->magic == PPTP_MAGIC && h->pptp ? h : NULL;
}

static void shut(pptp_handle *h) {
  dp_pptp_close(h->pptp); /* first: its thread pushes into the pipe */
  h->pptp = NULL;
  dp_js_pipe_close(&h->js);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pptp_handle *h = data;
  if (h->pptp) shut(h);
  free(h);
}

static bool address_arg(napi_env env, napi_value v, struct sockaddr_in *out) {
  char text[64] = "";
  size_t len = 0;
  *out = (struct sockaddr_in){.sin_family = AF_INET};
  return napi_get_value_string_utf8(env, v, text, sizeof text, &len) == napi_ok && inet_pton(AF_INET, text, &out->sin_addr) == 1;
}

/* pptpOpen(address, onFrames) → handle, or a negative errno */
napi_value dp_napi_pptp_open(napi_env env, napi_callback_info info) {
  napi_value argv[2], handle;
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  struct sockaddr_in local;
  if (argc < 2 || !address_arg(env, argv[0], &local)) {
    napi_throw_type_error(env, NULL, "pptpOpen: expected (address, onFrames)");
    return NULL;
  }
  pptp_handle *h = calloc(1, sizeof *h);
  if (!h) return dp_napi_int(env, -ENOMEM);
  h->magic = PPTP_MAGIC;
  int rc = dp_js_pipe_open(env, argv[1], "postern-pptp-gre", &h->js);
  if (rc == 0) h->pptp = dp_pptp_open(&local, h->js.pipe, &rc);
  if (!h->pptp) {
    dp_js_pipe_close(&h->js);
    free(h);
    return dp_napi_int(env, rc);
  }
  napi_create_external(env, h, finalize, NULL, &handle);
  return handle;
}

/* pptpCallAdd(handle, callId, peerCallId, peerAddress, tag) → 0 or -errno */
napi_value dp_napi_pptp_call_add(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  size_t argc = 5;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  pptp_handle *h = argc == 5 ? handle_of(env, argv[0]) : NULL;
  uint32_t call_id = 0, peer_call_id = 0, tag = 0;
  struct sockaddr_in peer;
  if (!h || napi_get_value_uint32(env, argv[1], &call_id) != napi_ok || napi_get_value_uint32(env, argv[2], &peer_call_id) != napi_ok ||
      !address_arg(env, argv[3], &peer) || napi_get_value_uint32(env, argv[4], &tag) != napi_ok || call_id > 0xffff || peer_call_id > 0xffff)
    return dp_napi_int(env, -EINVAL);
  return dp_napi_int(env, dp_pptp_call_add(h->pptp, (uint16_t)call_id, (uint16_t)peer_call_id, &peer, tag));
}

/* pptpCallRemove(handle, callId) → 0 or -ENOENT */
napi_value dp_napi_pptp_call_remove(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  pptp_handle *h = argc == 2 ? handle_of(env, argv[0]) : NULL;
  uint32_t call_id = 0;
  if (!h || napi_get_value_uint32(env, argv[1], &call_id) != napi_ok || call_id > 0xffff) return dp_napi_int(env, -EINVAL);
  return dp_napi_int(env, dp_pptp_call_remove(h->pptp, (uint16_t)call_id));
}

/* (handle, callId, bytes) → what `send` returns: bytes sent or -errno */
static napi_value send_on_call(napi_env env, napi_callback_info info, int (*send)(dp_pptp *, uint16_t, const uint8_t *, size_t)) {
  napi_value argv[3];
  size_t argc = 3, len = 0;
  const uint8_t *data = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  pptp_handle *h = argc == 3 ? handle_of(env, argv[0]) : NULL;
  uint32_t call_id = 0;
  if (!h || napi_get_value_uint32(env, argv[1], &call_id) != napi_ok || call_id > 0xffff) return dp_napi_int(env, -EINVAL);
  if (!dp_napi_buffer(env, argv[2], &data, &len)) return NULL;
  return dp_napi_int(env, send(h->pptp, (uint16_t)call_id, data, len));
}

/* pptpSend(handle, callId, frame) → bytes sent or -errno */
napi_value dp_napi_pptp_send(napi_env env, napi_callback_info info) { return send_on_call(env, info, dp_pptp_send); }

/* pptpStats(handle) → counters as bigints (the pipe's under `pipe`), or undefined once closed */
napi_value dp_napi_pptp_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  pptp_handle *h = argc == 1 ? handle_of(env, argv[0]) : NULL;
  if (!h) return NULL;
  const dp_pptp_stats *s = dp_pptp_stats_of(h->pptp);
  const dp_napi_counter f[] = {
      {"rx", s->rx}, {"framesUp", s->frames_up}, {"acksReceived", s->acks_received}, {"tx", s->tx}, {"acksSent", s->acks_sent},
      {"sendErrors", s->send_errors}, {"malformed", s->malformed}, {"unknownCall", s->unknown_call}, {"wrongPeer", s->wrong_peer},
      {"outOfOrder", s->out_of_order}, {"notPptp", s->not_pptp}, {"mppeRx", s->mppe_rx}, {"mppeTx", s->mppe_tx}, {"mppeLate", s->mppe_late},
      {"mppeMalformed", s->mppe_malformed}, {"tunErrors", s->tun_errors},
  };
  napi_value o = dp_napi_counters(env, f, sizeof f / sizeof f[0]);
  napi_set_named_property(env, o, "pipe", dp_js_pipe_stats(env, &h->js));
  return o;
}

/* pptpClose(handle) → 0 */
napi_value dp_napi_pptp_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  pptp_handle *h = argc == 1 ? handle_of(env, argv[0]) : NULL;
  if (h) shut(h);
  return dp_napi_int(env, 0);
}

static bool uint_prop(napi_env env, napi_value o, const char *name, uint32_t *out) {
  napi_value v;
  return napi_get_named_property(env, o, name, &v) == napi_ok && napi_get_value_uint32(env, v, out) == napi_ok;
}

/* {startKey: Buffer(16), sessionKey: Buffer(8 or 16), strength, count}: JavaScript's KeySchedule. */
static bool mppe_state_arg(napi_env env, napi_value o, dp_mppe_state *s) {
  const uint8_t *start = NULL, *session = NULL;
  size_t start_len = 0, session_len = 0;
  uint32_t strength = 0, count = 0;
  memset(s, 0, sizeof *s);
  dp_napi_buffer_prop(env, o, "startKey", &start, &start_len);
  dp_napi_buffer_prop(env, o, "sessionKey", &session, &session_len);
  if (!uint_prop(env, o, "strength", &strength) || !uint_prop(env, o, "count", &count) || start_len != 16 || session_len < (strength == 128 ? 16u : 8u) || session_len > 16) return false;
  memcpy(s->start_key, start, 16);
  memcpy(s->session_key, session, session_len);
  s->strength = strength;
  s->count = (uint16_t)(count < 0x10000 ? count : 0xffff);
  return dp_mppe_valid(s);
}

static napi_value mppe_state_value(napi_env env, const dp_mppe_state *s) {
  napi_value o, v;
  void *data = NULL;
  size_t key_len = s->strength == 128 ? 16 : 8;
  napi_create_object(env, &o);
  napi_create_buffer_copy(env, 16, s->start_key, &data, &v);
  napi_set_named_property(env, o, "startKey", v);
  napi_create_buffer_copy(env, key_len, s->session_key, &data, &v);
  napi_set_named_property(env, o, "sessionKey", v);
  napi_create_uint32(env, s->strength, &v);
  napi_set_named_property(env, o, "strength", v);
  napi_create_uint32(env, s->count, &v);
  napi_set_named_property(env, o, "count", v);
  return o;
}

/* pptpDataStart(handle, callId, {mtu, sources}, hub, txState, rxState) → 0 or -errno */
napi_value dp_napi_pptp_data_start(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  size_t argc = 6;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  pptp_handle *h = argc == 6 ? handle_of(env, argv[0]) : NULL;
  hub_handle *hub = argc == 6 ? dp_napi_hub_of(env, argv[3]) : NULL;
  uint32_t call_id = 0, mtu = 0;
  dp_ppp_config c = {.lower = DP_PPP_LOWER_PPTP};
  dp_mppe_state tx, rx;
  if (!h || !hub || !hub->hub || napi_get_value_uint32(env, argv[1], &call_id) != napi_ok || call_id > 0xffff || !uint_prop(env, argv[2], "mtu", &mtu) || mtu < 576 ||
      mtu > 0xffff || !dp_napi_sources_prop(env, argv[2], &c.sources) || !mppe_state_arg(env, argv[4], &tx) || !mppe_state_arg(env, argv[5], &rx))
    return dp_napi_int(env, -EINVAL);
  c.mtu = mtu;
  int tun_fd = dp_hub_queue_fd(hub->hub, dp_hub_assign_queue(hub->hub));
  int rc = dp_pptp_data_start(h->pptp, (uint16_t)call_id, &c, &tx, &rx, hub->hub, tun_fd, dp_hub_offload(hub->hub));
  memset(&tx, 0, sizeof tx);
  memset(&rx, 0, sizeof rx);
  return dp_napi_int(env, rc);
}

/* pptpDataStop(handle, callId) → {tx, rx} (the MPPE states to resume from), or -ENOENT */
napi_value dp_napi_pptp_data_stop(napi_env env, napi_callback_info info) {
  napi_value argv[2], o;
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  pptp_handle *h = argc == 2 ? handle_of(env, argv[0]) : NULL;
  uint32_t call_id = 0;
  if (!h || napi_get_value_uint32(env, argv[1], &call_id) != napi_ok || call_id > 0xffff) return dp_napi_int(env, -EINVAL);
  dp_mppe_state tx, rx;
  int rc = dp_pptp_data_stop(h->pptp, (uint16_t)call_id, &tx, &rx);
  if (rc < 0) return dp_napi_int(env, rc);
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "tx", mppe_state_value(env, &tx));
  napi_set_named_property(env, o, "rx", mppe_state_value(env, &rx));
  memset(&tx, 0, sizeof tx);
  memset(&rx, 0, sizeof rx);
  return o;
}

/* pptpDataStats(handle, callId) → the data path's counters (as pppSessionStats), or undefined */
napi_value dp_napi_pptp_data_stats(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  pptp_handle *h = argc == 2 ? handle_of(env, argv[0]) : NULL;
  uint32_t call_id = 0;
  dp_ppp_stats s;
  if (!h || napi_get_value_uint32(env, argv[1], &call_id) != napi_ok || call_id > 0xffff || dp_pptp_data_stats(h->pptp, (uint16_t)call_id, &s) < 0) return NULL;
  const dp_napi_counter f[] = {{"rxPackets", s.rx_packets}, {"rxBytes", s.rx_bytes}, {"txPackets", s.tx_packets}, {"txBytes", s.tx_bytes},
                               {"up", s.up}, {"dropSource", s.drop_source}, {"dropMalformed", s.drop_malformed}, {"dropTx", s.drop_tx}};
  return dp_napi_counters(env, f, sizeof f / sizeof f[0]);
}

/* pptpSendIp(handle, callId, packet) → bytes sent or -errno: JavaScript's own IP through the call's MPPE */
napi_value dp_napi_pptp_send_ip(napi_env env, napi_callback_info info) { return send_on_call(env, info, dp_pptp_send_ip); }
