/* TUN devices: create (IFF_TUN | IFF_NO_PI: bare IP packets), set MTU, an IPv4 address and up. */
#ifndef POSTERN_TUN_H
#define POSTERN_TUN_H

#include <stdbool.h>
#include <stdint.h>

/* Returns the fd, or -errno. `name` is the wanted name (at most 15 characters) and receives the real one.
 * With `multi_queue` each call with the same name adds a queue to the device (IFF_MULTI_QUEUE): the
 * kernel spreads the packets it sends into the TUN over the queues by flow.
 * With `offload`, every read and write carries a virtio_net_hdr and the kernel may hand over TCP
 * super-segments (TSO) with checksums left to us (gso.h). With `uso` also UDP segmentation offload is
 * asked for (Linux 6.2+); `*uso` says whether the kernel took it. */
/* `link_protocol`: each packet read or written starts with struct tun_pi (its EtherType), so the
 * device carries non-IP too (GRE sites); without it, bare IP packets. */
int dp_tun_open(char name[16], bool offload, bool multi_queue, bool link_protocol, bool *uso);

/* MTU, an IPv4 address with its prefix length, and IFF_UP; 0 or -errno. */
int dp_tun_configure(const char *name, int mtu, uint32_t ipv4_be, int prefix_len);

#endif
