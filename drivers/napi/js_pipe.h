/* A pipe up to JavaScript: a bounded dp_pipe drained on the JavaScript thread in batches of
 * [[tag, Buffer], ...] handed to a callback. Used by the hub (packets of sessions served in
 * JavaScript) and by PPTP's GRE endpoint (PPP frames of calls). */
#ifndef POSTERN_NAPI_JS_PIPE_H
#define POSTERN_NAPI_JS_PIPE_H

#include <node_api.h>

#include "pipe.h"

typedef struct {
  dp_pipe *pipe; /* NULL until opened and after closing */
  napi_threadsafe_function fn;
} dp_js_pipe;

/* 0, -EINVAL (not a function) or -ENOMEM. The pipe alone never keeps the process alive. */
int dp_js_pipe_open(napi_env env, napi_value callback, const char *name, dp_js_pipe *p);
/* The producer must no longer push (detach it first). */
void dp_js_pipe_close(dp_js_pipe *p);
/* {queued, delivered, droppedFull} as bigints. */
napi_value dp_js_pipe_stats(napi_env env, const dp_js_pipe *p);

#endif
