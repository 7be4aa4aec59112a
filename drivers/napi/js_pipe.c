#include "js_pipe.h"

#include "napi_util.h"

#include <errno.h>

#define DRAIN_BATCH 512
#define PIPE_MAX_PACKETS 8192
#define PIPE_MAX_BYTES (16u << 20)

/* The producer's thread: the queue turned non-empty. */
static void wake(void *ctx) { napi_call_threadsafe_function((napi_threadsafe_function)ctx, NULL, napi_tsfn_nonblocking); }

typedef struct {
  napi_env env;
  napi_value array;
  uint32_t n;
} batch;

static void add_to_batch(void *ctx, uint32_t tag, const uint8_t *packet, size_t len) {
  batch *b = ctx;
  napi_value pair, t, buf;
  void *copy = NULL;
  napi_create_array_with_length(b->env, 2, &pair);
  napi_create_uint32(b->env, tag, &t);
  napi_create_buffer_copy(b->env, len, packet, &copy, &buf);
  napi_set_element(b->env, pair, 0, t);
  napi_set_element(b->env, pair, 1, buf);
  napi_set_element(b->env, b->array, b->n++, pair);
}

/* JavaScript thread: callback([[tag, packet], ...]); a full batch asks for another turn. */
static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  (void)data;
  dp_js_pipe *p = context;
  if (!env || !callback || !p->pipe) return;
  batch b = {.env = env, .n = 0};
  napi_create_array(env, &b.array);
  size_t n = dp_pipe_drain(p->pipe, DRAIN_BATCH, add_to_batch, &b);
  if (n == DRAIN_BATCH) napi_call_threadsafe_function(p->fn, NULL, napi_tsfn_nonblocking);
  if (n == 0) return;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, callback, 1, &b.array, NULL);
}

int dp_js_pipe_open(napi_env env, napi_value callback, const char *name, dp_js_pipe *p) {
  napi_value resource;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  if (napi_create_threadsafe_function(env, callback, NULL, resource, 0, 1, NULL, NULL, p, call_js, &p->fn) != napi_ok) return -EINVAL;
  napi_unref_threadsafe_function(env, p->fn);
  p->pipe = dp_pipe_open(PIPE_MAX_PACKETS, PIPE_MAX_BYTES, wake, p->fn);
  if (p->pipe) return 0;
  napi_release_threadsafe_function(p->fn, napi_tsfn_release);
  p->fn = NULL;
  return -ENOMEM;
}

void dp_js_pipe_close(dp_js_pipe *p) {
  if (!p->pipe) return;
  dp_pipe_close(p->pipe);
  p->pipe = NULL;
  napi_release_threadsafe_function(p->fn, napi_tsfn_release);
  p->fn = NULL;
}

napi_value dp_js_pipe_stats(napi_env env, const dp_js_pipe *p) {
  const dp_pipe_stats *s = dp_pipe_stats_of(p->pipe);
  const dp_napi_counter f[] = {{"queued", s->queued}, {"delivered", s->delivered}, {"droppedFull", s->dropped_full}};
  return dp_napi_counters(env, f, sizeof f / sizeof f[0]);
}
