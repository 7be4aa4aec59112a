/* N-API glue for SSTP calls in the driver (sstp_call.h, issue 23): an engine with the callback that
 * gets its calls' pieces in batches of [tag, Buffer] (an empty Buffer: the call ended), certificates,
 * calls added on a TCP socket's fd (duplicated: JavaScript destroys its own socket), JavaScript's
 * bytes down, the data path started on the shared TUN, counters, removal. A call keeps its engine,
 * certificate and hub alive (references) until it is removed or collected. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "js_pipe.h"
#include "napi_hub.h"
#include "napi_util.h"
#include "sstp_call.h"

#define ENGINE_MAGIC 0x53535450u /* "SSTP" */
#define TLS_MAGIC 0x53544c53u    /* "STLS" */
#define CALL_MAGIC 0x5343414cu   /* "SCAL" */

typedef struct {
  unsigned magic;
  dp_sstp *engine; /* NULL once closed */
  unsigned calls;
  dp_js_pipe js;
} engine_handle;

typedef struct {
  unsigned magic;
  dp_sstp_tls *tls;
  unsigned calls;
} tls_handle;

typedef struct {
  unsigned magic;
  dp_sstp_call *call; /* NULL once removed */
  engine_handle *engine;
  tls_handle *tls;
  hub_handle *hub; /* NULL: no data path */
  napi_ref engine_ref, tls_ref, hub_ref;
} call_handle;

static engine_handle *engine_of(napi_env env, napi_value v) {
  engine_handle *h = dp_napi_external(env, v);
  return h && h->magic == ENGINE_MAGIC && h->engine ? h : NULL;
}

static tls_handle *tls_of(napi_env env, napi_value v) {
  tls_handle *h = dp_napi_external(env, v);
  return h && h->magic == TLS_MAGIC ? h : NULL;
}

static call_handle *call_of(napi_env env, napi_value v) {
  call_handle *h = dp_napi_external(env, v);
  return h && h->magic == CALL_MAGIC && h->call ? h : NULL;
}

static void engine_shut(engine_handle *h) {
  dp_sstp_close(h->engine); /* first: its thread pushes into the pipe */
  h->engine = NULL;
  dp_js_pipe_close(&h->js);
}

static void engine_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  engine_handle *h = data;
  if (h->calls > 0) return; /* only at the environment's teardown (calls hold references): a call's finalizer may still need it */
  if (h->engine) engine_shut(h);
  free(h);
}

static void tls_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tls_handle *h = data;
  if (h->calls > 0) return; /* as for the engine */
  dp_sstp_tls_free(h->tls);
  free(h);
}

static void call_stop(napi_env env, call_handle *h) {
  if (!h->call) return;
  dp_sstp_call_remove(h->engine->engine, h->call);
  h->call = NULL;
  h->engine->calls--;
  h->tls->calls--;
  napi_delete_reference(env, h->engine_ref);
  napi_delete_reference(env, h->tls_ref);
  if (h->hub) {
    h->hub->tunnels--;
    napi_delete_reference(env, h->hub_ref);
  }
}

static void call_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  call_stop(env, data);
  free(data);
}

/* sstpOpen(onPieces) → engine, or a negative errno */
napi_value dp_napi_sstp_open(napi_env env, napi_callback_info info) {
  napi_value argv[1], handle;
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  engine_handle *h = calloc(1, sizeof *h);
  if (!h) return dp_napi_int(env, -ENOMEM);
  h->magic = ENGINE_MAGIC;
  int rc = argc == 1 ? dp_js_pipe_open(env, argv[0], "postern-sstp", &h->js) : -EINVAL;
  if (rc == 0) h->engine = dp_sstp_open(h->js.pipe, &rc);
  if (!h->engine) {
    dp_js_pipe_close(&h->js);
    free(h);
    return dp_napi_int(env, rc);
  }
  napi_create_external(env, h, engine_finalize, NULL, &handle);
  return handle;
}

/* sstpStats(engine) → the engine's counters (bigints): calls on kTLS both ways, on kernel RX only,
 * in userspace, and the last reason (an errno); memory trims after bursts of handshakes */
napi_value dp_napi_sstp_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  engine_handle *h = argc == 1 ? engine_of(env, argv[0]) : NULL;
  if (!h) return NULL;
  const dp_sstp_stats *s = dp_sstp_stats_of(h->engine);
  const dp_napi_counter f[] = {
      {"ktlsCalls", s->ktls_calls}, {"ktlsRxOnly", s->ktls_rx_only}, {"ktlsFallbacks", s->ktls_fallbacks}, {"ktlsLastError", s->ktls_last_error},
      {"memoryTrims", s->memory_trims}};
  return dp_napi_counters(env, f, sizeof f / sizeof f[0]);
}

/* sstpSetKernelTls(engine, on) → 0: kTLS for calls set up from now on */
napi_value dp_napi_sstp_set_kernel_tls(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  engine_handle *h = argc == 2 ? engine_of(env, argv[0]) : NULL;
  bool on = true;
  if (!h || napi_get_value_bool(env, argv[1], &on) != napi_ok) return dp_napi_int(env, -EINVAL);
  dp_sstp_set_ktls(h->engine, on);
  return dp_napi_int(env, 0);
}

/* sstpSetKeyUpdateRecords(engine, records) → 0: TLS 1.3 records sealed on one key before a KeyUpdate (0: the default) */
napi_value dp_napi_sstp_set_key_update_records(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  engine_handle *h = argc == 2 ? engine_of(env, argv[0]) : NULL;
  int64_t records = 0;
  if (!h || napi_get_value_int64(env, argv[1], &records) != napi_ok || records < 0) return dp_napi_int(env, -EINVAL);
  dp_sstp_set_key_update_records(h->engine, (uint64_t)records);
  return dp_napi_int(env, 0);
}

/* sstpClose(engine) → 0, or -EBUSY while calls remain */
napi_value dp_napi_sstp_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  engine_handle *h = argc == 1 ? engine_of(env, argv[0]) : NULL;
  if (!h) return dp_napi_int(env, 0);
  if (h->calls > 0) return dp_napi_int(env, -EBUSY);
  engine_shut(h);
  return dp_napi_int(env, 0);
}

/* A context for JavaScript: freed with its handle (tls_finalize), or at once when no handle can be made. */
static napi_value tls_wrap(napi_env env, dp_sstp_tls *tls) {
  napi_value handle;
  tls_handle *h = calloc(1, sizeof *h);
  if (!h) {
    dp_sstp_tls_free(tls);
    return dp_napi_int(env, -ENOMEM);
  }
  *h = (tls_handle){.magic = TLS_MAGIC, .tls = tls};
  napi_create_external(env, h, tls_finalize, NULL, &handle);
  return handle;
}

/* sstpTls(certPem, keyPem) → certificate handle, or a negative errno */
napi_value dp_napi_sstp_tls(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2, cert_len = 0, key_len = 0;
  const uint8_t *cert = NULL, *key = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 2 || !dp_napi_buffer(env, argv[0], &cert, &cert_len) || !dp_napi_buffer(env, argv[1], &key, &key_len)) return NULL;
  int rc = 0;
  dp_sstp_tls *tls = dp_sstp_tls_new((const char *)cert, cert_len, (const char *)key, key_len, &rc);
  if (!tls) return dp_napi_int(env, rc);
  return tls_wrap(env, tls);
}

/* sstpTlsClient(caPem | null) → a dialer's context (the server's chain checked against the CA; none:
 * the caller pins the certificate), or a negative errno */
napi_value dp_napi_sstp_tls_client(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1, ca_len = 0;
  const uint8_t *ca = NULL;
  napi_valuetype type = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1) napi_typeof(env, argv[0], &type);
  if (type != napi_null && type != napi_undefined && !dp_napi_buffer(env, argv[0], &ca, &ca_len)) return NULL;
  int rc = 0;
  dp_sstp_tls *tls = dp_sstp_tls_client_new((const char *)ca, ca_len, &rc);
  if (!tls) return dp_napi_int(env, rc);
  return tls_wrap(env, tls);
}

/* The call's handle once the driver took it: references on its engine and context (and hub). */
static napi_value call_handle_new(napi_env env, dp_sstp_call *call, engine_handle *e, napi_value engine, tls_handle *t, napi_value tls, hub_handle *hub,
                                  napi_value hub_value) {
  napi_value handle;
  call_handle *h = calloc(1, sizeof *h);
  if (!h) {
    dp_sstp_call_remove(e->engine, call);
    return dp_napi_int(env, -ENOMEM);
  }
  h->magic = CALL_MAGIC;
  h->call = call;
  h->engine = e;
  h->tls = t;
  h->hub = hub;
  e->calls++;
  t->calls++;
  napi_create_reference(env, engine, 1, &h->engine_ref);
  napi_create_reference(env, tls, 1, &h->tls_ref);
  if (hub) {
    hub->tunnels++; /* the hub is not closed under the call */
    napi_create_reference(env, hub_value, 1, &h->hub_ref);
  }
  napi_create_external(env, h, call_finalize, NULL, &handle);
  return handle;
}

/* sstpCallDial(engine, tls, fd, tag, serverName | null) → call, or a negative errno: Postern as the client on
 * a connected socket (duplicated); the server's certificate comes up first once the handshake is done. */
napi_value dp_napi_sstp_call_dial(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  size_t argc = 5;
  char name[256] = "";
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  engine_handle *e = argc == 5 ? engine_of(env, argv[0]) : NULL;
  tls_handle *t = argc == 5 ? tls_of(env, argv[1]) : NULL;
  int32_t fd = -1;
  uint32_t tag = 0;
  napi_valuetype name_type = napi_null;
  if (e && t) napi_typeof(env, argv[4], &name_type);
  size_t name_len = 0;
  if (!e || !t || napi_get_value_int32(env, argv[2], &fd) != napi_ok || fd < 0 || napi_get_value_uint32(env, argv[3], &tag) != napi_ok ||
      (name_type != napi_null && (napi_get_value_string_utf8(env, argv[4], name, sizeof name, &name_len) != napi_ok || name_len >= sizeof name - 1)))
    return dp_napi_int(env, -EINVAL);
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return dp_napi_int(env, -errno);
  int rc = 0;
  dp_sstp_call *call = dp_sstp_call_dial(e->engine, t->tls, own, name[0] ? name : NULL, tag, &rc);
  if (!call) return dp_napi_int(env, rc);
  return call_handle_new(env, call, e, argv[0], t, argv[1], NULL, NULL);
}

/* sstpCallAdd(engine, tls, fd, tag, hub | null, already: Buffer) → call, or a negative errno. The fd is
 * duplicated; `already` holds what JavaScript read from the socket before (the ClientHello, or nothing). */
napi_value dp_napi_sstp_call_add(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  size_t argc = 6, already_len = 0;
  const uint8_t *already = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  engine_handle *e = argc == 6 ? engine_of(env, argv[0]) : NULL;
  tls_handle *t = argc == 6 ? tls_of(env, argv[1]) : NULL;
  if (e && t && !dp_napi_buffer(env, argv[5], &already, &already_len)) return NULL;
  int32_t fd = -1;
  uint32_t tag = 0;
  napi_valuetype hub_type = napi_undefined;
  if (!e || !t || napi_get_value_int32(env, argv[2], &fd) != napi_ok || fd < 0 || napi_get_value_uint32(env, argv[3], &tag) != napi_ok)
    return dp_napi_int(env, -EINVAL);
  napi_typeof(env, argv[4], &hub_type);
  hub_handle *hub = hub_type == napi_null || hub_type == napi_undefined ? NULL : dp_napi_hub_of(env, argv[4]);
  if (hub_type != napi_null && hub_type != napi_undefined && !hub) return dp_napi_int(env, -EINVAL);
  int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return dp_napi_int(env, -errno);
  int rc = 0;
  int tun_fd = hub ? dp_hub_queue_fd(hub->hub, dp_hub_assign_queue(hub->hub)) : -1;
  dp_sstp_call *call = dp_sstp_call_add(e->engine, t->tls, own, already, already_len, tun_fd, hub && dp_hub_offload(hub->hub), tag, &rc);
  if (!call) return dp_napi_int(env, rc);
  return call_handle_new(env, call, e, argv[0], t, argv[1], hub, argv[4]);
}

/* sstpCallSend(call, bytes) → bytes taken, or -errno (-EPIPE: ended, -EAGAIN: handshake not done) */
napi_value dp_napi_sstp_call_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2, len = 0;
  const uint8_t *data = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  call_handle *h = argc == 2 ? call_of(env, argv[0]) : NULL;
  if (!h) return dp_napi_int(env, -EBADF);
  if (!dp_napi_buffer(env, argv[1], &data, &len)) return NULL;
  return dp_napi_int(env, dp_sstp_call_send(h->call, data, len));
}

/* sstpCallStartData(call, {mtu, sources}, hub?) → 0 or -errno: IP of the session's sources in C from now on.
 * A dialed call (added without a hub) takes its hub here. */
napi_value dp_napi_sstp_call_start_data(napi_env env, napi_callback_info info) {
  napi_value argv[3], v, list;
  size_t argc = 3;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  call_handle *h = argc >= 2 ? call_of(env, argv[0]) : NULL;
  if (!h) return dp_napi_int(env, -EBADF);
  if (!h->hub && argc == 3) {
    hub_handle *hub = dp_napi_hub_of(env, argv[2]);
    if (!hub) return dp_napi_int(env, -EINVAL);
    h->hub = hub;
    hub->tunnels++;
    napi_create_reference(env, argv[2], 1, &h->hub_ref);
  }
  if (!h->hub) return dp_napi_int(env, -EINVAL);
  dp_ppp_config c = {.lower = DP_PPP_LOWER_SSTP};
  uint32_t mtu = 0, n = 0;
  bool is_array = false;
  if (napi_get_named_property(env, argv[1], "mtu", &v) != napi_ok || napi_get_value_uint32(env, v, &mtu) != napi_ok || mtu < 576 || mtu > 4091 ||
      napi_get_named_property(env, argv[1], "sources", &list) != napi_ok || napi_is_array(env, list, &is_array) != napi_ok || !is_array)
    return dp_napi_int(env, -EINVAL);
  c.mtu = mtu;
  napi_get_array_length(env, list, &n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    char text[64];
    size_t len = 0;
    napi_get_element(env, list, i, &item);
    if (napi_get_value_string_utf8(env, item, text, sizeof text, &len) != napi_ok || !dp_prefix_set_add(&c.sources, text)) return dp_napi_int(env, -EINVAL);
  }
  return dp_napi_int(env, dp_sstp_call_start_data(h->call, &c, h->hub->hub));
}

/* sstpCallStopData(call) → 0: IP no longer in C; a dialed call lets go of its hub (it may close). */
napi_value dp_napi_sstp_call_stop_data(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  call_handle *h = argc == 1 ? call_of(env, argv[0]) : NULL;
  if (!h) return dp_napi_int(env, -EBADF);
  dp_sstp_call_stop_data(h->call);
  if (h->hub) {
    h->hub->tunnels--;
    napi_delete_reference(env, h->hub_ref);
    h->hub = NULL;
  }
  return dp_napi_int(env, 0);
}

/* sstpCallPeerIssuer(call) → the server certificate's issuer (DER Buffer) from the verified chain, or undefined */
napi_value dp_napi_sstp_call_peer_issuer(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  call_handle *h = argc == 1 ? call_of(env, argv[0]) : NULL;
  const uint8_t *der = NULL;
  size_t n = h ? dp_sstp_call_peer_issuer(h->call, &der) : 0;
  if (!n) return NULL;
  void *copy = NULL;
  if (napi_create_buffer_copy(env, n, der, &copy, &out) != napi_ok) return NULL;
  return out;
}

/* sstpCallStats(call) → counters (bigints; the session's under `ppp` once the data path runs), TLS version and suite */
napi_value dp_napi_sstp_call_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1], text;
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  call_handle *h = argc == 1 ? call_of(env, argv[0]) : NULL;
  if (!h) return NULL;
  const dp_sstp_call_stats *s = dp_sstp_call_stats_of(h->call);
  const dp_napi_counter f[] = {
      {"bytesIn", s->bytes_in}, {"bytesOut", s->bytes_out}, {"piecesUp", s->pieces_up}, {"upDropped", s->up_dropped}, {"dataIn", s->data_in},
      {"dataOut", s->data_out}, {"dropBacklog", s->drop_backlog}, {"dropTun", s->drop_tun}, {"sent", s->sent}, {"ended", s->ended}, {"bioRenewed", s->bio_renewed},
      {"ktlsRx", s->ktls_rx},   {"ktlsTx", s->ktls_tx},     {"ktlsError", s->ktls_error},
      {"keyUpdatesIn", s->key_updates_in}, {"keyUpdatesOut", s->key_updates_out},
  };
  napi_value o = dp_napi_counters(env, f, sizeof f / sizeof f[0]);
  const dp_ppp_stats *p = dp_sstp_call_ppp_stats(h->call);
  if (p) {
    const dp_napi_counter g[] = {{"rxPackets", p->rx_packets}, {"rxBytes", p->rx_bytes}, {"txPackets", p->tx_packets}, {"txBytes", p->tx_bytes},
                                 {"up", p->up}, {"dropSource", p->drop_source}, {"dropMalformed", p->drop_malformed}, {"dropTx", p->drop_tx}};
    napi_set_named_property(env, o, "ppp", dp_napi_counters(env, g, sizeof g / sizeof g[0]));
  }
  char version[16], cipher[64];
  dp_sstp_call_tls_info(h->call, version, cipher);
  napi_create_string_utf8(env, version, NAPI_AUTO_LENGTH, &text);
  napi_set_named_property(env, o, "tlsVersion", text);
  napi_create_string_utf8(env, cipher, NAPI_AUTO_LENGTH, &text);
  napi_set_named_property(env, o, "cipher", text);
  const char *refused = dp_sstp_call_verify_error(h->call);
  napi_create_string_utf8(env, refused ? refused : "", NAPI_AUTO_LENGTH, &text);
  napi_set_named_property(env, o, "verifyError", text);
  return o;
}

/* sstpCallRemove(call) → 0: routes gone, socket closed, no thread still holds the call */
napi_value dp_napi_sstp_call_remove(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  call_handle *h = argc == 1 ? call_of(env, argv[0]) : NULL;
  if (h) call_stop(env, h);
  return dp_napi_int(env, 0);
}
