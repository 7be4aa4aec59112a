/* N-API glue for ESP-in-UDP tunnels: start (TUN + socket + worker threads), stats, stop. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esp.h"

#include "tunnel.h"
#include "napi_endpoint.h"
#include "napi_hub.h"
#include "napi_addr.h"
#include "napi_util.h"
#include "tun.h"

/* References keep the SAs' JS objects (and so the SAs) alive while the threads may use them. */
typedef struct {
  dp_sa *sa;
  napi_ref ref;
} held_sa;

/*
 * Slow-path events of every tunnel go through one thread-safe function per environment: one per
 * tunnel would add a libuv async handle each, and libuv looks at every async handle on each wakeup
 * of the loop (issue 23: the top symbol of the gateway's profile at 10,000 SAs). A tunnel's callback
 * sits in a slot; an event names the slot and its generation, so one still queued for a stopped
 * tunnel is dropped. Slots are touched on the JavaScript thread only (start, stop, delivery).
 */
typedef struct {
  napi_ref callback; /* NULL: free */
  uint32_t generation;
} event_slot;

typedef struct {
  napi_threadsafe_function tsfn;
  event_slot *slots;
  uint32_t *free; /* free slot numbers, a stack */
  uint32_t count, cap, free_count;
} event_router;

/* What a tunnel's threads hand to queue_event: lives in the tunnel handle, which outlives them. */
typedef struct {
  napi_threadsafe_function tsfn; /* NULL: no events */
  event_router *router;
  uint32_t slot, generation;
} tunnel_events;

typedef struct {
  dp_tunnel *tunnel;
  held_sa out;
  held_sa in[DP_TUNNEL_MAX_INBOUND];
  tunnel_events events; /* slow-path events to JavaScript */
  endpoint_handle *endpoint;       /* the shared UDP endpoint it runs on, or NULL */
  napi_ref endpoint_ref;           /* keeps the endpoint's JavaScript handle alive meanwhile */
  hub_handle *hub;                 /* the shared TUN it runs on, or NULL */
  napi_ref hub_ref;
} tunnel_handle;

typedef struct {
  uint32_t slot, generation;
  uint32_t spi;
  unsigned expiry;
} expiry_event;

/* Worker thread: queue the event for the JavaScript thread and return at once. */
static void queue_event(void *ctx, uint32_t spi, unsigned expiry) {
  const tunnel_events *ev = ctx;
  expiry_event *e = malloc(sizeof *e);
  if (!e) return;
  *e = (expiry_event){.slot = ev->slot, .generation = ev->generation, .spi = spi, .expiry = expiry};
  if (napi_call_threadsafe_function(ev->tsfn, e, napi_tsfn_nonblocking) != napi_ok) free(e);
}

/* JavaScript thread: the tunnel's onEvent({type: 'expire', spi, soft, hard}), if it still runs. */
static void call_js(napi_env env, napi_value js_callback, void *context, void *data) {
  (void)js_callback;
  event_router *r = context;
  expiry_event *e = data;
  napi_value callback = NULL;
  const event_slot *slot = e->slot < r->count ? &r->slots[e->slot] : NULL;
  if (env && slot && slot->callback && slot->generation == e->generation) napi_get_reference_value(env, slot->callback, &callback);
  if (callback) {
    napi_value event, undefined, spi, type;
    napi_create_object(env, &event);
    napi_create_string_utf8(env, "expire", NAPI_AUTO_LENGTH, &type);
    napi_create_uint32(env, e->spi, &spi);
    napi_set_named_property(env, event, "type", type);
    napi_set_named_property(env, event, "spi", spi);
    napi_set_named_property(env, event, "soft", dp_napi_boolean(env, (e->expiry & DP_EXPIRE_SOFT) != 0));
    napi_set_named_property(env, event, "hard", dp_napi_boolean(env, (e->expiry & DP_EXPIRE_HARD) != 0));
    napi_get_undefined(env, &undefined);
    napi_call_function(env, undefined, callback, 1, &event, NULL);
  }
  free(e);
}

static void release(napi_env env, held_sa *h) {
  if (h->ref) napi_delete_reference(env, h->ref);
  h->ref = NULL;
  h->sa = NULL;
}

static void hold(napi_env env, held_sa *h, napi_value external, dp_sa *sa) {
  napi_create_reference(env, external, 1, &h->ref);
  h->sa = sa;
}

/* The environment's router, its thread-safe function made on first use (never keeps the process alive). */
static event_router *router_of(napi_env env) {
  event_router *r = NULL;
  if (napi_get_instance_data(env, (void **)&r) == napi_ok && r) return r;
  r = calloc(1, sizeof *r);
  napi_value resource;
  napi_create_string_utf8(env, "postern-dp-events", NAPI_AUTO_LENGTH, &resource);
  if (!r || napi_create_threadsafe_function(env, NULL, NULL, resource, 0, 1, NULL, NULL, r, call_js, &r->tsfn) != napi_ok) {
    free(r);
    return NULL;
  }
  napi_unref_threadsafe_function(env, r->tsfn);
  napi_set_instance_data(env, r, NULL, NULL); /* lives as long as the environment's thread-safe function */
  return r;
}

/* A slot for `callback`; false when out of memory (the tunnel then runs without events). */
static bool events_open(napi_env env, tunnel_events *ev, napi_value callback) {
  event_router *r = router_of(env);
  if (!r) return false;
  uint32_t slot;
  if (r->free_count) slot = r->free[--r->free_count];
  else {
    if (r->count == r->cap) {
      uint32_t cap = r->cap ? r->cap * 2 : 64;
      event_slot *slots = realloc(r->slots, cap * sizeof *slots);
      if (!slots) return false;
      r->slots = slots;
      uint32_t *stack = realloc(r->free, cap * sizeof *stack);
      if (!stack) return false;
      r->free = stack;
      r->cap = cap;
    }
    slot = r->count++;
    r->slots[slot] = (event_slot){0};
  }
  if (napi_create_reference(env, callback, 1, &r->slots[slot].callback) != napi_ok) {
    r->free[r->free_count++] = slot;
    return false;
  }
  *ev = (tunnel_events){.tsfn = r->tsfn, .router = r, .slot = slot, .generation = r->slots[slot].generation};
  return true;
}

/* The slot back: events still queued for it are dropped (their generation is past). */
static void events_close(napi_env env, tunnel_events *ev) {
  if (!ev->tsfn) return;
  event_slot *slot = &ev->router->slots[ev->slot];
  napi_delete_reference(env, slot->callback);
  slot->callback = NULL;
  slot->generation++;
  ev->router->free[ev->router->free_count++] = ev->slot;
  ev->tsfn = NULL;
}

static void stop_handle(napi_env env, tunnel_handle *h) {
  if (!h->tunnel) return;
  dp_tunnel_stop(h->tunnel); /* threads joined: no more events can be queued */
  h->tunnel = NULL;
  events_close(env, &h->events);
  release(env, &h->out);
  for (int i = 0; i < DP_TUNNEL_MAX_INBOUND; i++) release(env, &h->in[i]);
  if (h->hub) {
    h->hub->tunnels--;
    napi_delete_reference(env, h->hub_ref);
    h->hub = NULL;
  }
  if (h->endpoint) {
    h->endpoint->tunnels--;
    napi_delete_reference(env, h->endpoint_ref);
    h->endpoint = NULL;
  }
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  stop_handle(env, data);
  free(data);
}

static int32_t int_prop(napi_env env, napi_value o, const char *name) {
  napi_value v;
  int32_t out = 0;
  if (napi_get_named_property(env, o, name, &v) == napi_ok) napi_get_value_int32(env, v, &out);
  return out;
}

static bool str_prop(napi_env env, napi_value o, const char *name, char *buf, size_t cap) {
  napi_value v;
  size_t len = 0;
  return napi_get_named_property(env, o, name, &v) == napi_ok && napi_get_value_string_utf8(env, v, buf, cap, &len) == napi_ok && len > 0;
}

static bool address_prop(napi_env env, napi_value o, const char *addr, const char *port, dp_addr *out) {
  char text[64];
  return str_prop(env, o, addr, text, sizeof text) && dp_napi_parse_addr(text, (uint32_t)int_prop(env, o, port), out);
}

/* An array of CIDR strings into a prefix set; false on a malformed one. */
static bool selectors_prop(napi_env env, napi_value o, const char *name, dp_prefix_set *set) {
  napi_value list;
  bool is_array = false;
  uint32_t n = 0;
  memset(set, 0, sizeof *set);
  if (napi_get_named_property(env, o, name, &list) != napi_ok || napi_is_array(env, list, &is_array) != napi_ok || !is_array) return true;
  napi_get_array_length(env, list, &n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    char text[64];
    size_t len = 0;
    napi_get_element(env, list, i, &item);
    if (napi_get_value_string_utf8(env, item, text, sizeof text, &len) != napi_ok || !dp_prefix_set_add(set, text)) return false;
  }
  return true;
}

/* tunnelStart({name, mtu, address, prefixLength, localAddress, localPort, remoteAddress, remotePort, outbound, inbound})
 * → {handle, name}, or a negative errno */
napi_value dp_napi_tunnel_start(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_value cfg = argv[0], out_v, in_v;
  void *out_sa = NULL, *in_sa = NULL;
  char name[16] = {0}, addr[64];
  dp_addr local, remote;
  struct sockaddr_in tun_addr;
  int32_t mode = int_prop(env, cfg, "mode");
  bool esp = mode == DP_TUNNEL_ESP_UDP || mode == DP_TUNNEL_ESP;
  napi_get_named_property(env, cfg, "outbound", &out_v);
  napi_get_named_property(env, cfg, "inbound", &in_v);
  if ((esp && (napi_get_value_external(env, out_v, &out_sa) != napi_ok || napi_get_value_external(env, in_v, &in_sa) != napi_ok)) ||
      (!esp && mode != DP_TUNNEL_GRE) ||
      !address_prop(env, cfg, "localAddress", "localPort", &local) || !address_prop(env, cfg, "remoteAddress", "remotePort", &remote) ||
      !str_prop(env, cfg, "address", addr, sizeof addr) || inet_pton(AF_INET, addr, &tun_addr.sin_addr) != 1) {
    napi_throw_type_error(env, NULL, "tunnelStart: bad configuration");
    return NULL;
  }
  dp_tunnel_options options = {.mode = (dp_tunnel_mode)mode, .mtu = (unsigned)int_prop(env, cfg, "mtu"),
                               .keepalive_ms = (unsigned)int_prop(env, cfg, "keepaliveMs")};
  napi_value key;
  napi_valuetype key_type = napi_undefined;
  if (napi_get_named_property(env, cfg, "greKey", &key) == napi_ok) napi_typeof(env, key, &key_type);
  if (key_type == napi_number) {
    options.gre.has_key = true;
    napi_get_value_uint32(env, key, &options.gre.key);
  }
  options.gre.checksum = dp_napi_bool_prop(env, cfg, "greChecksum");
  options.gre.sequence = dp_napi_bool_prop(env, cfg, "greSequence");
  napi_value start;
  if (napi_get_named_property(env, cfg, "greSequenceStart", &start) == napi_ok) napi_get_value_uint32(env, start, &options.gre_seq_start); /* stays 0 unless a number */
  if (!selectors_prop(env, cfg, "remoteSelectors", &options.remote_ts) || !selectors_prop(env, cfg, "localSelectors", &options.local_ts)) {
    napi_throw_type_error(env, NULL, "tunnelStart: bad selector");
    return NULL;
  }
  str_prop(env, cfg, "name", name, sizeof name);
  options.offload = !dp_napi_bool_prop(env, cfg, "noOffload");
  options.transport = esp && dp_napi_bool_prop(env, cfg, "transport");
  options.transport_local = local;
  /* IPv6 (issue 24): send from the SA's own address even when the shared socket is bound to ::. */
  if (dp_addr_is_v6(&local)) options.source = local;
  napi_value hub_v;
  napi_valuetype hub_type = napi_undefined;
  if (napi_get_named_property(env, cfg, "hub", &hub_v) == napi_ok) napi_typeof(env, hub_v, &hub_type);
  hub_handle *hub = hub_type == napi_undefined ? NULL : dp_napi_hub_of(env, hub_v);
  if (hub_type != napi_undefined && !hub) return dp_napi_int(env, -EBADF);
  int fd = -1, rc = 0;
  if (!hub) {
    /* A tunnel of its own: its own TUN device. On a hub the hub's TUN is shared. */
    /* A GRE site's interface carries whatever the kernel routes into it, IP or not (issue 25). */
    options.link_protocol = mode == DP_TUNNEL_GRE;
    fd = dp_tun_open(name, options.offload, false, options.link_protocol, &options.uso);
    if (fd < 0) return dp_napi_int(env, fd);
    rc = dp_tun_configure(name, int_prop(env, cfg, "mtu"), tun_addr.sin_addr.s_addr, int_prop(env, cfg, "prefixLength"));
    if (rc < 0) { close(fd); return dp_napi_int(env, rc); }
  }
  tunnel_handle *h = calloc(1, sizeof *h);
  napi_value on_event;
  napi_valuetype on_event_type = napi_undefined;
  if (napi_get_named_property(env, cfg, "onEvent", &on_event) == napi_ok) napi_typeof(env, on_event, &on_event_type);
  if (on_event_type == napi_function && events_open(env, &h->events, on_event)) {
    options.on_event = queue_event;
    options.event_ctx = &h->events;
  }
  napi_value endpoint_v;
  napi_valuetype endpoint_type = napi_undefined;
  if (napi_get_named_property(env, cfg, "endpoint", &endpoint_v) == napi_ok) napi_typeof(env, endpoint_v, &endpoint_type);
  endpoint_handle *shared = endpoint_type == napi_undefined ? NULL : dp_napi_endpoint_of(env, endpoint_v);
  if (endpoint_type != napi_undefined && !shared) rc = -EBADF;
  else if (hub && !shared) rc = -EINVAL; /* a hub tunnel receives through the shared endpoint */
  else if (hub) h->tunnel = dp_tunnel_start_hub(&options, hub->hub, shared->endpoint, &remote, out_sa, in_sa, &rc);
  else if (shared) h->tunnel = dp_tunnel_start_shared(fd, &options, shared->endpoint, &remote, out_sa, in_sa, &rc);
  else h->tunnel = dp_tunnel_start(fd, &options, &local, &remote, out_sa, in_sa, &rc);
  if (h->tunnel && shared) {
    h->endpoint = shared;
    shared->tunnels++;
    napi_create_reference(env, endpoint_v, 1, &h->endpoint_ref);
  }
  if (h->tunnel && hub) {
    h->hub = hub;
    hub->tunnels++;
    napi_create_reference(env, hub_v, 1, &h->hub_ref);
  }
  if (!h->tunnel) {
    if (fd >= 0) close(fd);
    events_close(env, &h->events);
    free(h);
    return dp_napi_int(env, rc);
  }
  if (esp) {
    hold(env, &h->out, out_v, out_sa);
    hold(env, &h->in[0], in_v, in_sa);
  }
  napi_value result, handle, name_v;
  napi_create_external(env, h, finalize, NULL, &handle);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &name_v);
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "name", name_v);
  return result;
}

static tunnel_handle *handle_arg(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  void *p = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (napi_get_value_external(env, argv[0], &p) != napi_ok) napi_throw_type_error(env, NULL, "not a tunnel handle");
  return p;
}

napi_value dp_napi_tunnel_stop(napi_env env, napi_callback_info info) {
  tunnel_handle *h = handle_arg(env, info);
  if (h) stop_handle(env, h);
  return NULL;
}

napi_value dp_napi_tunnel_stats(napi_env env, napi_callback_info info) {
  tunnel_handle *h = handle_arg(env, info);
  if (!h || !h->tunnel) return NULL;
  const dp_tunnel_stats *s = dp_tunnel_stats_of(h->tunnel);
  const dp_napi_counter f[] = {
      {"tunRx", s->tun_rx}, {"netTx", s->net_tx}, {"netRx", s->net_rx}, {"tunTx", s->tun_tx}, {"ikePackets", s->ike_packets},
      {"keepalives", s->keepalives}, {"keepalivesSent", s->keepalives_sent}, {"dropDecrypt", s->drop_decrypt}, {"dropEncrypt", s->drop_encrypt}, {"dropIo", s->drop_io}, {"mssClamped", s->mss_clamped}, {"dropSelector", s->drop_selector}, {"peerMoved", s->peer_moved},
      {"dropSource", s->drop_source}, {"greBadKey", s->gre_bad_key}, {"greBadChecksum", s->gre_bad_checksum}, {"greOutOfOrder", s->gre_out_of_order}, {"greSeqResyncs", s->gre_seq_resyncs}, {"greNextSequence", dp_tunnel_gre_next_seq(h->tunnel)},
      {"udpUp", s->udp_up}, {"udpUpDropped", s->udp_up_dropped}, {"udpSent", s->udp_sent},
  };
  return dp_napi_counters(env, f, sizeof f / sizeof f[0]);
}

static tunnel_handle *handle_and_sa(napi_env env, napi_callback_info info, napi_value *sa_value, dp_sa **sa) {
  napi_value argv[2];
  size_t argc = 2;
  void *h = NULL, *p = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (napi_get_value_external(env, argv[0], &h) != napi_ok || napi_get_value_external(env, argv[1], &p) != napi_ok || !((tunnel_handle *)h)->tunnel) {
    napi_throw_type_error(env, NULL, "expected a running tunnel and an SA");
    return NULL;
  }
  *sa_value = argv[1];
  *sa = p;
  return h;
}

/* tunnelAddInbound(tunnel, sa) → 0, or a negative errno */
napi_value dp_napi_tunnel_add_inbound(napi_env env, napi_callback_info info) {
  napi_value sa_value;
  dp_sa *sa;
  tunnel_handle *h = handle_and_sa(env, info, &sa_value, &sa);
  if (!h) return NULL;
  int slot = -1;
  for (int i = 0; i < DP_TUNNEL_MAX_INBOUND && slot < 0; i++) if (!h->in[i].sa) slot = i;
  if (slot < 0) return dp_napi_int(env, -ENOSPC);
  int rc = dp_tunnel_add_inbound(h->tunnel, sa);
  if (rc == 0) hold(env, &h->in[slot], sa_value, sa);
  return dp_napi_int(env, rc);
}

/* tunnelSetOutbound(tunnel, sa): from the next packet on, traffic leaves under this SA. */
napi_value dp_napi_tunnel_set_outbound(napi_env env, napi_callback_info info) {
  napi_value sa_value;
  dp_sa *sa;
  tunnel_handle *h = handle_and_sa(env, info, &sa_value, &sa);
  if (!h) return NULL;
  dp_tunnel_set_outbound(h->tunnel, sa); /* returns once the old one is out of use */
  release(env, &h->out);
  hold(env, &h->out, sa_value, sa);
  return dp_napi_int(env, 0);
}

/* tunnelRemoveInbound(tunnel, spi) → true when an SA with that SPI was taken out */
napi_value dp_napi_tunnel_remove_inbound(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  void *p = NULL;
  uint32_t spi = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || !((tunnel_handle *)p)->tunnel) return dp_napi_boolean(env, false);
  tunnel_handle *h = p;
  napi_get_value_uint32(env, argv[1], &spi);
  dp_sa *removed = dp_tunnel_remove_inbound(h->tunnel, spi);
  for (int i = 0; removed && i < DP_TUNNEL_MAX_INBOUND; i++) if (h->in[i].sa == removed) release(env, &h->in[i]);
  return dp_napi_boolean(env, removed != NULL);
}

/* tunnelRoute(tunnel, "10.10.0.7/32") → 0 or a negative errno: the hub sends that prefix through it. */
napi_value dp_napi_tunnel_route(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2, len = 0;
  void *p = NULL;
  char text[64] = "";
  dp_prefix prefix;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_external(env, argv[0], &p) != napi_ok || !((tunnel_handle *)p)->tunnel) return dp_napi_int(env, -EBADF);
  if (napi_get_value_string_utf8(env, argv[1], text, sizeof text, &len) != napi_ok || !dp_prefix_parse(text, &prefix)) return dp_napi_int(env, -EINVAL);
  return dp_napi_int(env, dp_tunnel_route(((tunnel_handle *)p)->tunnel, &prefix));
}

/* tunnelSetPeer(tunnel, address, port) → 0 or a negative errno */
napi_value dp_napi_tunnel_set_peer(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3, len = 0;
  void *p = NULL;
  char text[64] = "";
  uint32_t port = 0;
  dp_addr peer;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || napi_get_value_external(env, argv[0], &p) != napi_ok || !((tunnel_handle *)p)->tunnel) return dp_napi_int(env, -EBADF);
  if (napi_get_value_string_utf8(env, argv[1], text, sizeof text, &len) != napi_ok || napi_get_value_uint32(env, argv[2], &port) != napi_ok ||
      !dp_napi_parse_addr(text, port, &peer)) return dp_napi_int(env, -EINVAL);
  dp_tunnel_set_peer(((tunnel_handle *)p)->tunnel, &peer);
  return dp_napi_int(env, 0);
}

/* tunnelSendGre(tunnel, protocolType, payload) → 0 or a negative errno: one payload out of a GRE
 * tunnel with its key (the site's Cisco keepalive: an inner IPv4 packet, protocol 0x0800). */
napi_value dp_napi_tunnel_send_gre(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3, len = 0;
  void *p = NULL, *data = NULL;
  uint32_t protocol = 0;
  bool is_typed = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || napi_get_value_external(env, argv[0], &p) != napi_ok || !((tunnel_handle *)p)->tunnel) return dp_napi_int(env, -EBADF);
  if (napi_get_value_uint32(env, argv[1], &protocol) != napi_ok || protocol > 0xffff || napi_is_typedarray(env, argv[2], &is_typed) != napi_ok || !is_typed)
    return dp_napi_int(env, -EINVAL);
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, argv[2], &type, &len, &data, &buffer, &offset) != napi_ok || type != napi_uint8_array) return dp_napi_int(env, -EINVAL);
  return dp_napi_int(env, dp_tunnel_send_gre(((tunnel_handle *)p)->tunnel, (uint16_t)protocol, data, len));
}

/* tunnelDeliverUdp(handle, port, tag) → 0 or -errno: transport mode's UDP to `port` up the hub's pipe under `tag` (port 0: none). */
napi_value dp_napi_tunnel_deliver_udp(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  size_t argc = 3;
  void *p = NULL;
  uint32_t port = 0, tag = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || napi_get_value_external(env, argv[0], &p) != napi_ok || !((tunnel_handle *)p)->tunnel) return dp_napi_int(env, -EBADF);
  if (napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 0xffff || napi_get_value_uint32(env, argv[2], &tag) != napi_ok) return dp_napi_int(env, -EINVAL);
  dp_tunnel_deliver_udp(((tunnel_handle *)p)->tunnel, htons((uint16_t)port), tag);
  return dp_napi_int(env, 0);
}

/* tunnelSendUdp(handle, sourcePort, destinationPort, payload) → bytes sent or -errno. */
napi_value dp_napi_tunnel_send_udp(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  size_t argc = 4, len = 0;
  void *p = NULL;
  const uint8_t *data = NULL;
  uint32_t sport = 0, dport = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4 || napi_get_value_external(env, argv[0], &p) != napi_ok || !((tunnel_handle *)p)->tunnel) return dp_napi_int(env, -EBADF);
  if (napi_get_value_uint32(env, argv[1], &sport) != napi_ok || napi_get_value_uint32(env, argv[2], &dport) != napi_ok || sport > 0xffff || dport > 0xffff)
    return dp_napi_int(env, -EINVAL);
  if (!dp_napi_buffer(env, argv[3], &data, &len)) return NULL;
  return dp_napi_int(env, dp_tunnel_send_udp(((tunnel_handle *)p)->tunnel, htons((uint16_t)sport), htons((uint16_t)dport), data, len));
}

/* For the PPP data sessions' glue (ppp_data.c): the running tunnel behind a handle, or NULL. */
dp_tunnel *dp_napi_tunnel_of(napi_env env, napi_value v) {
  tunnel_handle *h = dp_napi_external(env, v);
  return h ? h->tunnel : NULL;
}
