/* PPTP's GRE data channel on loopback (needs root for raw sockets; skipped otherwise): frames up
 * in order with their call's tag, duplicates and late packets dropped, unknown calls, other
 * peers, plain GRE and truncated packets counted, acknowledgements sent alone and piggybacked. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gre.h"
#include "pptp_gre.h"
#include "tap.h"

void test_pptp(void);

static void wake_nothing(void *ctx) { (void)ctx; }

static struct sockaddr_in loopback(const char *a) {
  struct sockaddr_in s = {.sin_family = AF_INET};
  inet_pton(AF_INET, a, &s.sin_addr);
  return s;
}

static int raw_socket_on(const char *address) {
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_GRE);
  struct sockaddr_in a = loopback(address);
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }
  return fd;
}

/* An enhanced GRE packet to 127.0.0.1 from `fd`: `seq` < 0 for none, `ack` < 0 for none. */
static void send_gre(int fd, uint16_t call_id, long long seq, long long ack, const char *payload) {
  uint8_t out[256];
  size_t n = payload ? strlen(payload) : 0, total = 0;
  dp_gre_header h = {.version = 1, .protocol = DP_GRE_PROTO_PPP, .call_id = call_id, .has_seq = seq >= 0, .seq = (uint32_t)seq, .has_ack = ack >= 0, .ack = (uint32_t)ack};
  memcpy(out + dp_gre_header_size(&h), payload, n);
  dp_gre_build(&h, out, sizeof out, n, &total);
  struct sockaddr_in to = loopback("127.0.0.1");
  if (sendto(fd, out, total, 0, (struct sockaddr *)&to, sizeof to) < 0) perror("sendto");
}

static void send_bytes(int fd, const uint8_t *b, size_t n) {
  struct sockaddr_in to = loopback("127.0.0.1");
  if (sendto(fd, b, n, 0, (struct sockaddr *)&to, sizeof to) < 0) perror("sendto");
}

/* Waits (at most two seconds) for a counter to reach `want`. */
static bool reaches(_Atomic uint64_t *counter, uint64_t want) {
  for (int i = 0; i < 400 && atomic_load(counter) < want; i++) usleep(5000);
  return atomic_load(counter) >= want;
}

typedef struct { int n; uint32_t tags[16]; char frames[16][32]; } drained;
static void collect(void *ctx, uint32_t tag, const uint8_t *packet, size_t len) {
  drained *d = ctx;
  if (d->n >= 16 || len >= 32) return;
  d->tags[d->n] = tag;
  memcpy(d->frames[d->n], packet, len);
  d->frames[d->n++][len] = 0;
}

/* The next enhanced GRE packet the endpoint sent to 127.0.0.2 (within a second), parsed. */
static bool next_from_endpoint(int fd, dp_gre_header *h, char *payload, size_t cap) {
  uint8_t buf[2048];
  struct pollfd p = {.fd = fd, .events = POLLIN};
  while (poll(&p, 1, 1000) == 1) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 20) return false;
    size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
    if (dp_gre_parse(buf + ihl, (size_t)n - ihl, h) != DP_GRE_OK || h->version != 1) continue;
    size_t len = h->payload_length < cap - 1 ? h->payload_length : cap - 1;
    memcpy(payload, buf + ihl + h->header_len, len);
    payload[len] = 0;
    return true;
  }
  return false;
}

void test_pptp(void) {
  dp_pipe *pipe = dp_pipe_open(64, 1 << 20, wake_nothing, NULL);
  struct sockaddr_in local = loopback("127.0.0.1"), peer = loopback("127.0.0.2");
  int error = 0;
  dp_pptp *p = dp_pptp_open(&local, pipe, &error);
  int client = raw_socket_on("127.0.0.2"), stranger = raw_socket_on("127.0.0.3");
  if (!p || client < 0 || stranger < 0) {
    CHECK(error == -EPERM || error == -EACCES || client < 0, "PPTP GRE on loopback: skipped, raw sockets need root");
    if (p) dp_pptp_close(p);
    dp_pipe_close(pipe);
    return;
  }
  dp_pptp_stats *s = (dp_pptp_stats *)dp_pptp_stats_of(p);
  CHECK(dp_pptp_call_add(p, 100, 200, &peer, 7) == 0 && dp_pptp_call_add(p, 100, 201, &peer, 8) == -EEXIST, "a call is added once");

  send_gre(client, 100, 1, -1, "one");
  send_gre(client, 100, 2, -1, "two");
  send_gre(client, 100, 3, 0, "three");
  bool arrived = reaches(&s->frames_up, 3);
  drained d = {0};
  dp_pipe_drain(pipe, 16, collect, &d);
  CHECK(arrived && d.n == 3 && d.tags[0] == 7 && d.tags[2] == 7 && !strcmp(d.frames[0], "one") && !strcmp(d.frames[1], "two") && !strcmp(d.frames[2], "three"),
        "PPP frames come up in order, tagged with their call");

  send_gre(client, 100, 2, -1, "two again");
  send_gre(client, 100, 5, -1, "five");
  send_gre(client, 100, -1, 0, NULL); /* acknowledgement only */
  send_gre(client, 999, 6, -1, "lost");
  send_gre(stranger, 100, 7, -1, "spoofed");
  const uint8_t plain_gre[] = {0x00, 0x00, 0x08, 0x00, 0x45, 0x00};
  send_bytes(client, plain_gre, sizeof plain_gre);
  const uint8_t truncated[] = {0x30, 0x01, 0x88, 0x0b, 0x00, 0x64, 0x00, 0x64, 0, 0, 0, 9, 'x'};
  send_bytes(client, truncated, sizeof truncated);
  bool counted = reaches(&s->out_of_order, 1) && reaches(&s->frames_up, 4) && reaches(&s->unknown_call, 1) && reaches(&s->wrong_peer, 1) &&
                 reaches(&s->not_pptp, 1) && reaches(&s->malformed, 1) && reaches(&s->acks_received, 2);
  memset(&d, 0, sizeof d);
  dp_pipe_drain(pipe, 16, collect, &d);
  CHECK(counted && d.n == 1 && !strcmp(d.frames[0], "five"), "a duplicate is dropped, a later number taken; unknown call, other peer, plain GRE, truncated: each counted, none up");

  dp_gre_header h;
  char payload[64];
  uint32_t last_ack = 0;
  bool ack_only = true, got = false;
  while (next_from_endpoint(client, &h, payload, sizeof payload)) {
    got = true;
    ack_only &= !h.has_seq && h.payload_length == 0 && h.call_id == 200;
    if (h.has_ack) last_ack = h.ack;
  }
  CHECK(got && ack_only && last_ack == 5 && atomic_load(&s->acks_sent) >= 1, "with nothing to send, the endpoint acknowledges alone, up to the highest number received");

  CHECK(dp_pptp_send(p, 100, (const uint8_t *)"reply", 5) == 5, "a frame is sent on the call");
  bool first = next_from_endpoint(client, &h, payload, sizeof payload) && h.call_id == 200 && h.has_seq && h.seq == 0 && h.has_ack && h.ack == 5 && !strcmp(payload, "reply");
  dp_pptp_send(p, 100, (const uint8_t *)"again", 5);
  bool second = next_from_endpoint(client, &h, payload, sizeof payload) && h.seq == 1 && !strcmp(payload, "again");
  CHECK(first && second, "with the peer's call ID, sequence numbers from 0, and the acknowledgement piggybacked");
  CHECK(dp_pptp_send(p, 101, (const uint8_t *)"x", 1) == -ENOENT && dp_pptp_send(p, 100, (const uint8_t *)"x", 0) == -EMSGSIZE, "no call, or an empty frame: refused");

  CHECK(dp_pptp_call_remove(p, 100) == 0 && dp_pptp_call_remove(p, 100) == -ENOENT, "a call is removed once");
  send_gre(client, 100, 8, -1, "after");
  CHECK(reaches(&s->unknown_call, 2), "its packets are then an unknown call's");
  close(client);
  close(stranger);
  dp_pptp_close(p);
  dp_pipe_close(pipe);
}
