/* N-API glue for netlink, used by the kernel XFRM back end: requests go out and their answers come
 * back synchronously (the kernel answers at once; a timeout guards against a lost reply), and a
 * socket joined to multicast groups (XFRM acquires and expiries) is watched by libuv on the
 * JavaScript thread, so no thread is needed. Messages are built and parsed in TypeScript. */
#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "napi_util.h"

#define NL_MAGIC 0x4e4c4e4cu
#define NL_BUFFER 65536

typedef struct {
  uint32_t magic;
  int fd;
  uv_poll_t poll;
  bool polling;
  bool finalized;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
} nl_handle;

static nl_handle *handle_of(napi_env env, napi_value v) {
  nl_handle *h = dp_napi_external(env, v);
  return h && h->magic == NL_MAGIC && h->fd >= 0 ? h : NULL;
}

static void closed(uv_handle_t *poll) {
  nl_handle *h = poll->data;
  h->polling = false;
  if (h->finalized) free(h);
}

/* Stops watching and closes the socket; the struct is freed once libuv and the GC are both done. */
static void shut(napi_env env, nl_handle *h) {
  if (h->fd < 0) return;
  if (h->callback) napi_delete_reference(env, h->callback);
  h->callback = NULL;
  if (h->async) napi_async_destroy(env, h->async);
  h->async = NULL;
  if (h->polling) {
    uv_poll_stop(&h->poll);
    uv_close((uv_handle_t *)&h->poll, closed);
  }
  close(h->fd);
  h->fd = -1;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  nl_handle *h = data;
  shut(env, h);
  h->finalized = true;
  if (!h->polling) free(h);
}

/* netlinkOpen(protocol, groups) → handle, or a negative errno. `groups` is the nl_groups bit mask. */
napi_value dp_napi_netlink_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  uint32_t protocol = 0, groups = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &protocol) != napi_ok || napi_get_value_uint32(env, argv[1], &groups) != napi_ok) {
    napi_throw_type_error(env, NULL, "netlinkOpen: expected (protocol, groups)");
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, (int)protocol);
  if (fd < 0) return dp_napi_int(env, -errno);
  struct sockaddr_nl local = {.nl_family = AF_NETLINK, .nl_groups = groups};
  struct timeval timeout = {.tv_sec = 2};
  int size = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int rc = -errno;
    close(fd);
    return dp_napi_int(env, rc);
  }
  nl_handle *h = calloc(1, sizeof *h);
  if (!h) {
    close(fd);
    return dp_napi_int(env, -ENOMEM);
  }
  h->magic = NL_MAGIC;
  h->fd = fd;
  h->env = env;
  napi_value handle;
  napi_create_external(env, h, finalize, NULL, &handle);
  return handle;
}

static napi_value buffer_copy(napi_env env, const void *data, size_t len) {
  napi_value out;
  void *copy = NULL;
  napi_create_buffer_copy(env, len, data, &copy, &out);
  return out;
}

/* netlinkRequest(handle, message) → the answer's messages (Buffers, each one whole netlink message
 * with the request's sequence number), ending with the ACK or error, or with the one reply of a
 * request that asked for no ACK; or a negative errno (-ETIMEDOUT when the kernel stayed silent). */
napi_value dp_napi_netlink_request(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  const uint8_t *msg = NULL;
  size_t len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  nl_handle *h = argc == 2 ? handle_of(env, argv[0]) : NULL;
  if (!h) {
    napi_throw_type_error(env, NULL, "netlinkRequest: not an open netlink handle");
    return NULL;
  }
  if (!dp_napi_buffer(env, argv[1], &msg, &len)) return NULL;
  if (len < sizeof(struct nlmsghdr)) return dp_napi_int(env, -EINVAL);
  const struct nlmsghdr *request = (const struct nlmsghdr *)msg;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(h->fd, msg, len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return dp_napi_int(env, -errno);
  uint8_t *buf = malloc(NL_BUFFER);
  if (!buf) return dp_napi_int(env, -ENOMEM);
  napi_value answers;
  napi_create_array(env, &answers);
  uint32_t count = 0;
  bool done = false;
  while (!done) {
    ssize_t n = recv(h->fd, buf, NL_BUFFER, 0);
    if (n < 0) {
      int rc = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
      free(buf);
      return dp_napi_int(env, rc);
    }
    int left = (int)n;
    for (struct nlmsghdr *m = (struct nlmsghdr *)buf; NLMSG_OK(m, left); m = NLMSG_NEXT(m, left)) {
      if (m->nlmsg_seq != request->nlmsg_seq) continue; /* a stale answer to an earlier timeout */
      napi_set_element(env, answers, count++, buffer_copy(env, m, m->nlmsg_len));
      bool last = m->nlmsg_type == NLMSG_ERROR || m->nlmsg_type == NLMSG_DONE || (!(m->nlmsg_flags & NLM_F_MULTI) && !(request->nlmsg_flags & NLM_F_ACK));
      if (last) {
        done = true;
        break;
      }
    }
  }
  free(buf);
  return answers;
}

static void readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  nl_handle *h = poll->data;
  if (status < 0 || h->fd < 0 || !h->callback) return;
  uint8_t *buf = malloc(NL_BUFFER);
  if (!buf) return;
  napi_handle_scope scope;
  napi_open_handle_scope(h->env, &scope);
  napi_value callback, recv_this;
  napi_get_reference_value(h->env, h->callback, &callback);
  napi_get_global(h->env, &recv_this); /* make_callback wants an object as `this` */
  for (int i = 0; i < 64 && h->fd >= 0; i++) {
    ssize_t n = recv(h->fd, buf, NL_BUFFER, MSG_DONTWAIT);
    if (n <= 0) break;
    napi_value arg = buffer_copy(h->env, buf, (size_t)n);
    napi_make_callback(h->env, h->async, recv_this, callback, 1, &arg, NULL);
    if (!h->callback) break; /* closed from the callback */
  }
  napi_close_handle_scope(h->env, scope);
  free(buf);
}

/* netlinkListen(handle, onMessage) → 0 or a negative errno: each datagram the groups bring, as it arrives. */
napi_value dp_napi_netlink_listen(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = 2;
  napi_valuetype type = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  nl_handle *h = argc == 2 ? handle_of(env, argv[0]) : NULL;
  if (!h || napi_typeof(env, argv[1], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "netlinkListen: expected (handle, function)");
    return NULL;
  }
  if (h->polling) return dp_napi_int(env, -EBUSY);
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) return dp_napi_int(env, -EINVAL);
  napi_value name;
  napi_create_string_utf8(env, "postern-netlink", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &h->async);
  napi_create_reference(env, argv[1], 1, &h->callback);
  int rc = uv_poll_init(loop, &h->poll, h->fd);
  if (rc == 0) {
    h->poll.data = h;
    h->polling = true;
    rc = uv_poll_start(&h->poll, UV_READABLE, readable);
    uv_unref((uv_handle_t *)&h->poll); /* events never keep the process alive */
  }
  return dp_napi_int(env, rc);
}

/* netlinkClose(handle) → 0 */
napi_value dp_napi_netlink_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  nl_handle *h = argc == 1 ? handle_of(env, argv[0]) : NULL;
  if (h) shut(env, h);
  return dp_napi_int(env, 0);
}
