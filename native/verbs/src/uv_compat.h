/*
 * libuv for the verbs addon. Node exports libuv's symbols, and Node-API hands out its loop
 * (napi_get_uv_event_loop), but node-api-headers ship no uv.h. build.mjs passes the include
 * directory of the running Node when it has one (Node's own headers, Debian/NodeSource's
 * /usr/include/node); otherwise the few declarations the addon uses are spelled out here.
 * They are part of libuv 1.x's stable ABI: uv_poll_t is used through its first field (`data`)
 * and allocated with room to spare (UV_COMPAT_POLL_SIZE is well over sizeof(uv_poll_t)).
 * Prebuilds define OPENCLAW_UV_COMPAT: they use these declarations on every target, whatever
 * headers the build machine has.
 */
#ifndef OPENCLAW_VERBS_UV_COMPAT_H
#define OPENCLAW_VERBS_UV_COMPAT_H

#if defined(__has_include) && !defined(OPENCLAW_UV_COMPAT)
#if __has_include(<uv.h>)
#include <uv.h>
#define OPENCLAW_HAVE_UV_H 1
#endif
#endif

#ifndef OPENCLAW_HAVE_UV_H
typedef struct uv_loop_s uv_loop_t;
typedef struct uv_handle_s {
  void *data;
  char opaque_[504];
} uv_handle_t;
typedef struct uv_poll_s {
  void *data;
  char opaque_[504];
} uv_poll_t;
typedef void (*uv_poll_cb)(uv_poll_t *handle, int status, int events);
typedef void (*uv_close_cb)(uv_handle_t *handle);
enum uv_poll_event { UV_READABLE = 1, UV_WRITABLE = 2, UV_DISCONNECT = 4, UV_PRIORITIZED = 8 };
int uv_poll_init(uv_loop_t *loop, uv_poll_t *handle, int fd);
int uv_poll_start(uv_poll_t *handle, int events, uv_poll_cb cb);
int uv_poll_stop(uv_poll_t *handle);
void uv_close(uv_handle_t *handle, uv_close_cb close_cb);
void uv_ref(uv_handle_t *handle);
void uv_unref(uv_handle_t *handle);
#endif

#endif
