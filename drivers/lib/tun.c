#include "tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* linux/if_tun.h of Linux 6.2+; older headers lack them, older kernels refuse them (EINVAL). */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

int dp_tun_open(char name[16], bool offload, bool multi_queue, bool link_protocol, bool *uso) {
  if (uso) *uso = false;
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | (link_protocol ? 0 : IFF_NO_PI) | (offload ? IFF_VNET_HDR : 0) | (multi_queue ? IFF_MULTI_QUEUE : 0);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  unsigned offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
  int rc = ioctl(fd, TUNSETIFF, &ifr);
  if (rc == 0 && offload && uso && ioctl(fd, TUNSETOFFLOAD, offloads | TUN_F_USO4 | TUN_F_USO6) == 0) {
    *uso = true;
  } else if (rc == 0 && offload) {
    rc = ioctl(fd, TUNSETOFFLOAD, offloads);
  }
  if (rc < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  memcpy(name, ifr.ifr_name, IFNAMSIZ);
  return fd;
}

static int ifreq_ioctl(int sock, unsigned long request, struct ifreq *ifr) {
  return ioctl(sock, request, ifr) < 0 ? -errno : 0;
}

/* A tunnel has no link layer: without an IPv6 link-local address the kernel sends no router
 * solicitations or MLD reports into it (noise the data plane would count as unroutable). */
static void no_link_local(const char *name) {
  char path[96];
  snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/addr_gen_mode", name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return; /* no IPv6 here: nothing to silence */
  if (write(fd, "1", 1) < 0) { /* best effort */ }
  close(fd);
}

/* Transport mode writes rebuilt datagrams from a peer whose address the main table routes out of
 * the WAN, not this TUN: strict reverse-path filtering would drop them. Loose (2) still refuses
 * sources with no route at all. */
static void loose_reverse_path(const char *name) {
  char path[96];
  snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/rp_filter", name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (write(fd, "2", 1) < 0) { /* best effort */ }
  close(fd);
}

int dp_tun_configure(const char *name, int mtu, uint32_t ipv4_be, int prefix_len) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return -errno;
  struct ifreq ifr;
  int rc;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  ifr.ifr_mtu = mtu;
  if ((rc = ifreq_ioctl(sock, SIOCSIFMTU, &ifr)) != 0) goto done;
  if (ipv4_be != 0) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    memset(&ifr.ifr_addr, 0, sizeof ifr.ifr_addr);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = ipv4_be;
    if ((rc = ifreq_ioctl(sock, SIOCSIFADDR, &ifr)) != 0) goto done;
    sin->sin_addr.s_addr = prefix_len == 0 ? 0 : htonl(0xffffffffu << (32 - prefix_len));
    if ((rc = ifreq_ioctl(sock, SIOCSIFNETMASK, &ifr)) != 0) goto done;
  }
  /* A deep queue: packets the kernel routes into the TUN wait here while our thread is busy
   * encrypting the previous batch; 500 (the default) overflows in bursts at gigabit rates. */
  ifr.ifr_qlen = 8192;
  if ((rc = ifreq_ioctl(sock, SIOCSIFTXQLEN, &ifr)) != 0) goto done;
  no_link_local(name);
  loose_reverse_path(name);
  if ((rc = ifreq_ioctl(sock, SIOCGIFFLAGS, &ifr)) != 0) goto done;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  rc = ifreq_ioctl(sock, SIOCSIFFLAGS, &ifr);
done:
  close(sock);
  return rc;
}
