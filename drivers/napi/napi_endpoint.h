/* The endpoint handle, shared by endpoint.c and tunnel.c (tunnels attach to it). */
#ifndef POSTERN_NAPI_ENDPOINT_H
#define POSTERN_NAPI_ENDPOINT_H

#include <node_api.h>

#include "endpoint.h"

#define ENDPOINT_MAGIC 0x50454e44u /* "PEND": tells an endpoint external from other externals */

typedef struct {
  unsigned magic;
  dp_endpoint *endpoint; /* NULL once closed */
  napi_threadsafe_function ike;
  unsigned tunnels; /* tunnels started on it and not yet stopped */
} endpoint_handle;

/* The open endpoint behind a JavaScript value, or NULL. */
endpoint_handle *dp_napi_endpoint_of(napi_env env, napi_value v);

#endif
