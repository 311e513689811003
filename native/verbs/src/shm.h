/*
 * shm provider internals shared by the fd server (shm.c) and its client (shm_peer.c): the
 * fd-socket protocol (described in shm.c) and poll handles.
 */
#ifndef OPENCLAW_VERBS_SHM_H
#define OPENCLAW_VERBS_SHM_H

#include "copy.h"

#define SHM_MAGIC 0x4853434fu /* "OCSH" */
#define SHM_VERSION 1u
#define OP_GET_TABLE 1u
#define OP_GET_ARENA 2u
#define REQ_SIZE 16u
#define RESP_SIZE 24u

typedef struct {
  uint32_t magic;
  uint16_t version, op;
  uint32_t arena_id, zero;
} shm_request_t;

typedef struct {
  uint32_t magic;
  uint16_t op, status;
  uint32_t arena_id, pid;
  uint64_t size;
} shm_response_t;

_Static_assert(sizeof(shm_request_t) == REQ_SIZE, "request is 16 bytes");
_Static_assert(sizeof(shm_response_t) == RESP_SIZE, "response is 24 bytes");

/* A uv_poll handle (readable events) owned by a struct that lives until the close callback. */
typedef struct {
  uv_poll_t handle; /* first: libuv hands this pointer back */
  void (*closed)(void *owner);
  void *owner;
} poll_box_t;

/* Starts polling fd for reading; handle.data = owner. NULL on failure. */
poll_box_t *poll_open(uv_loop_t *loop, int fd, void *owner, uv_poll_cb cb);
/* Stops polling and closes fd (when >= 0); `closed(owner)` runs once libuv let go of the handle. */
void poll_close(poll_box_t *b, int fd, void (*closed)(void *owner));

void shm_close_servers(addon_t *a);
napi_status shm_server_define_class(napi_env env, napi_value *cls);

#endif
