/* The hub handle, shared by hub.c and tunnel.c (tunnels attach to it). */
#ifndef POSTERN_NAPI_HUB_H
#define POSTERN_NAPI_HUB_H

#include <node_api.h>

#include "hub.h"

#define HUB_MAGIC 0x50485542u /* "PHUB" */

typedef struct {
  unsigned magic;
  dp_hub *hub; /* NULL once closed */
  unsigned tunnels;
} hub_handle;

hub_handle *dp_napi_hub_of(napi_env env, napi_value v);

#endif
