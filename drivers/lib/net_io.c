#define _GNU_SOURCE
#include "net_io.h"

#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCKET_BUFFER (4 << 20)

int dp_socket_open(int protocol, const dp_addr *local) {
  int family = dp_addr_is_v6(local) ? AF_INET6 : AF_INET;
  int fd = protocol == 0 ? socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)
                         : socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) return -errno;
  int one = 1, size = SOCKET_BUFFER;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* The namespace's rmem_max cannot be raised from inside it; as root, force the size per socket. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (family == AF_INET6) {
    /* One socket per family: a dual-stack socket would show IPv4 peers as ::ffff:a.b.c.d. */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
  }
  dp_addr bind_to = *local;
  if (protocol == 0) setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one); /* best effort: old kernels lack it */
  else if (family == AF_INET6) bind_to.v6.sin6_port = 0;
  else bind_to.v4.sin_port = 0;
  if (bind(fd, &bind_to.sa, dp_addr_len(&bind_to)) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int dp_receive_batch(int fd, uint8_t *area, dp_datagram_fn each, void *ctx) {
  static __thread union { char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr align; } control[DP_RX_BATCH];
  struct mmsghdr msgs[DP_RX_BATCH];
  struct iovec iov[DP_RX_BATCH];
  dp_addr from[DP_RX_BATCH];
  for (int i = 0; i < DP_RX_BATCH; i++) {
    iov[i] = (struct iovec){.iov_base = area + (size_t)i * DP_RX_BUFFER, .iov_len = DP_RX_BUFFER};
    msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &iov[i], .msg_iovlen = 1,
                                           .msg_control = control[i].buf, .msg_controllen = sizeof control[i].buf}};
  }
  int n = recvmmsg(fd, msgs, DP_RX_BATCH, MSG_DONTWAIT, NULL);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    /* With UDP GRO one buffer may hold a run of datagrams of gso_size bytes (the last may be shorter). */
    size_t len = msgs[i].msg_len, segment = len;
    dp_addr to;
    const dp_addr *to_seen = NULL;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int size;
        memcpy(&size, CMSG_DATA(c), sizeof size);
        if (size > 0) segment = (size_t)size;
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        struct in6_pktinfo info;
        memcpy(&info, CMSG_DATA(c), sizeof info);
        memset(&to, 0, sizeof to);
        to.v6.sin6_family = AF_INET6;
        to.v6.sin6_addr = info.ipi6_addr;
        to_seen = &to;
      }
    }
    const uint8_t *d = iov[i].iov_base;
    for (size_t off = 0; off < len; off += segment) each(ctx, d + off, len - off < segment ? len - off : segment, &from[i], to_seen);
  }
  return n;
}

size_t dp_pktinfo_cmsg(const dp_addr *source, void *buf) {
  if (!source || !dp_addr_is_v6(source) || IN6_IS_ADDR_UNSPECIFIED(&source->v6.sin6_addr)) return 0;
  struct msghdr m = {.msg_control = buf, .msg_controllen = DP_PKTINFO_SPACE};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
  struct in6_pktinfo info = {.ipi6_addr = source->v6.sin6_addr, .ipi6_ifindex = 0};
  memcpy(CMSG_DATA(c), &info, sizeof info);
  return DP_PKTINFO_SPACE;
}
