#define _GNU_SOURCE
#include "net_io.h"

#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCKET_BUFFER (4 << 20)

int dp_socket_open(int protocol, const struct sockaddr_in *local) {
  int fd = protocol == 0 ? socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)
                         : socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
  if (fd < 0) return -errno;
  int one = 1, size = SOCKET_BUFFER;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* The namespace's rmem_max cannot be raised from inside it; as root, force the size per socket. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  struct sockaddr_in bind_to = *local;
  if (protocol == 0) setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one); /* best effort: old kernels lack it */
  else bind_to.sin_port = 0;
  if (bind(fd, (const struct sockaddr *)&bind_to, sizeof bind_to) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int dp_receive_batch(int fd, uint8_t *area, dp_datagram_fn each, void *ctx) {
  static __thread union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control[DP_RX_BATCH];
  struct mmsghdr msgs[DP_RX_BATCH];
  struct iovec iov[DP_RX_BATCH];
  struct sockaddr_in from[DP_RX_BATCH];
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
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int size;
        memcpy(&size, CMSG_DATA(c), sizeof size);
        if (size > 0) segment = (size_t)size;
      }
    }
    const uint8_t *d = iov[i].iov_base;
    for (size_t off = 0; off < len; off += segment) each(ctx, d + off, len - off < segment ? len - off : segment, &from[i]);
  }
  return n;
}
