/* The hub handle, shared by hub.c and tunnel.c (tunnels attach to it). */
#ifndef POSTERN_NAPI_HUB_H
#define POSTERN_NAPI_HUB_H

#include <node_api.h>

#include "hub.h"
#include "js_pipe.h"

#define HUB_MAGIC 0x50485542u /* "PHUB" */

typedef struct {
  unsigned magic;
  dp_hub *hub; /* NULL once closed */
  unsigned tunnels;
  dp_js_pipe js; /* sessions served in JavaScript, once attached */
} hub_handle;

hub_handle *dp_napi_hub_of(napi_env env, napi_value v);
/* Detaches and frees the pipe (before the hub closes). */
void dp_napi_hub_pipe_close(hub_handle *h);

#endif
