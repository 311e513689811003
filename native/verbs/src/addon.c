/*
 * openclaw-ipc verbs addon: module init, error values, argument helpers, the env cleanup hook.
 *
 * Exports (documented for JS in packages/rdma/src/native.ts):
 *   crc32c, crc32cHardware, monotonicNs, table, register, allocate, cmaPeer, peerCredentials,
 *   shmServe, shmAttach, and `verbs` when the verbs provider (verbs_js.c) is compiled in.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addon.h"

/* Weak, so the addon links without the verbs provider; verbs_js.c defines it. */
#pragma weak verbs_js_init

static const char *const RC_NAMES[RC_COUNT] = {
  "OK",     "EKEY",  "ERANGE",  "EACCES", "EEXPIRED", "ECHANGED", "EPERM",  "ESRCH",
  "ECLOSED", "EINVAL", "ENOSYS", "EPROTO", "EIO",      "ENOTSHM",  "ECAPACITY",
};

const char *rc_name(int rc) { return rc > 0 && rc < RC_COUNT ? RC_NAMES[rc] : "EIO"; }

int rc_from_errno(int e) {
  switch (e) {
  case EPERM:
  case EACCES:
    return RC_PERM;
  case ESRCH:
    return RC_SRCH;
  case ENOSYS:
    return RC_NOSYS;
  case EINVAL:
    return RC_INVAL;
  case EPIPE:
  case ECONNRESET:
  case ECONNREFUSED:
  case ENOENT:
    return RC_CLOSED;
  case ENOMEM:
  case EMFILE:
  case ENFILE:
    return RC_CAPACITY;
  default:
    return RC_IO;
  }
}

static napi_value vmake_error(napi_env env, int rc, int sys_errno, const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (sys_errno != 0) {
    size_t n = strlen(msg);
    snprintf(msg + n, sizeof msg - n, ": %s", strerror(sys_errno));
  }
  napi_value code, text, err;
  napi_create_string_utf8(env, rc_name(rc), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &err);
  if (sys_errno != 0) {
    napi_value n;
    napi_create_int32(env, sys_errno, &n);
    napi_set_named_property(env, err, "errno", n);
  }
  return err;
}

napi_value make_error(napi_env env, int rc, int sys_errno, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  napi_value err = vmake_error(env, rc, sys_errno, fmt, ap);
  va_end(ap);
  return err;
}

napi_value throw_error(napi_env env, int rc, int sys_errno, const char *fmt, ...) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return NULL;
  va_list ap;
  va_start(ap, fmt);
  napi_value err = vmake_error(env, rc, sys_errno, fmt, ap);
  va_end(ap);
  napi_throw(env, err);
  return NULL;
}

/* ------------------------------------------------------------------ argument helpers */

bool arg_u64(napi_env env, napi_value v, uint64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_bigint) {
    bool lossless = false;
    return napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok && lossless;
  }
  if (t != napi_number) return false;
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return false;
  if (!(d >= 0) || d > 9007199254740991.0 || d != (double)(uint64_t)d) return false;
  *out = (uint64_t)d;
  return true;
}

bool arg_u32(napi_env env, napi_value v, uint32_t *out) {
  uint64_t x;
  if (!arg_u64(env, v, &x) || x > UINT32_MAX) return false;
  *out = (uint32_t)x;
  return true;
}

bool arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count, offset;
    napi_value ab;
    void *p;
    if (napi_get_typedarray_info(env, v, &type, &count, &p, &ab, &offset) != napi_ok) return false;
    size_t elem = 1;
    switch (type) {
    case napi_int16_array:
    case napi_uint16_array:
      elem = 2;
      break;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      elem = 4;
      break;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      elem = 8;
      break;
    default:
      elem = 1;
    }
    *data = p;
    *len = count * elem;
    return true;
  }
  if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_value ab;
    size_t offset;
    void *p;
    if (napi_get_dataview_info(env, v, len, &p, &ab, &offset) != napi_ok) return false;
    *data = p;
    return true;
  }
  if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    void *p;
    if (napi_get_arraybuffer_info(env, v, &p, len) != napi_ok) return false;
    *data = p;
    return true;
  }
  return false;
}

napi_value make_u64(napi_env env, uint64_t v) {
  napi_value out;
  napi_create_bigint_uint64(env, v, &out);
  return out;
}

napi_value make_u32(napi_env env, uint32_t v) {
  napi_value out;
  napi_create_uint32(env, v, &out);
  return out;
}

void set_prop(napi_env env, napi_value obj, const char *name, napi_value v) {
  napi_set_named_property(env, obj, name, v);
}

uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

napi_value js_monotonic_ns(napi_env env, napi_callback_info info) {
  (void)info;
  return make_u64(env, monotonic_ns());
}

/* ------------------------------------------------------------------ per-env state */

addon_t *addon_of(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

napi_value new_instance(napi_env env, napi_ref ctor) {
  napi_value cls, obj;
  if (napi_get_reference_value(env, ctor, &cls) != napi_ok) return NULL;
  if (napi_new_instance(env, cls, 0, NULL, &obj) != napi_ok) return NULL;
  return obj;
}

void *unwrap_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  size_t zero = 0;
  if (napi_get_cb_info(env, info, argc != NULL ? argc : &zero, argv, &self, NULL) != napi_ok) return NULL;
  void *p = NULL;
  if (napi_unwrap(env, self, &p) != napi_ok || p == NULL) {
    throw_error(env, RC_INVAL, 0, "not an object made by the verbs addon");
    return NULL;
  }
  return p;
}

static void env_cleanup(void *arg) {
  addon_t *a = arg;
  a->tearing_down = true;
  shm_env_cleanup(a);
}

static void addon_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  addon_t *a = data;
  napi_ref refs[] = {a->ctor_region, a->ctor_arena, a->ctor_cma_peer, a->ctor_shm_server, a->ctor_shm_peer};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    if (refs[i] != NULL) napi_delete_reference(env, refs[i]);
  if (a->async_ctx != NULL) napi_async_destroy(env, a->async_ctx);
  if (a->resource != NULL) napi_delete_reference(env, a->resource);
  free(a);
}

napi_value js_crc32c_hardware(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_get_boolean(env, crc32c_hardware(), &out);
  return out;
}

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

static napi_value export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  CHECK(napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, name, fn));
  return fn;
}

static napi_value init(napi_env env, napi_value exports) {
  addon_t *a = calloc(1, sizeof *a);
  if (a == NULL) return NULL;
  a->env = env;
  CHECK(napi_get_uv_event_loop(env, (struct uv_loop_s **)&a->loop));
  CHECK(napi_set_instance_data(env, a, addon_finalize, NULL));
  CHECK(napi_add_env_cleanup_hook(env, env_cleanup, a));
  napi_value resource, name;
  CHECK(napi_create_object(env, &resource));
  CHECK(napi_create_reference(env, resource, 1, &a->resource));
  CHECK(napi_create_string_utf8(env, "openclaw-ipc:rdma", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, resource, name, &a->async_ctx));

  napi_value cls, server_cls, peer_cls;
  CHECK(region_define_class(env, &cls));
  CHECK(napi_create_reference(env, cls, 1, &a->ctor_region));
  CHECK(arena_define_class(env, &cls));
  CHECK(napi_create_reference(env, cls, 1, &a->ctor_arena));
  CHECK(cma_define_class(env, &cls));
  CHECK(napi_create_reference(env, cls, 1, &a->ctor_cma_peer));
  CHECK(shm_define_classes(env, &server_cls, &peer_cls));
  CHECK(napi_create_reference(env, server_cls, 1, &a->ctor_shm_server));
  CHECK(napi_create_reference(env, peer_cls, 1, &a->ctor_shm_peer));

  if (export_fn(env, exports, "crc32c", js_crc32c) == NULL) return NULL;
  if (export_fn(env, exports, "crc32cCopy", js_crc32c_copy) == NULL) return NULL;
  if (export_fn(env, exports, "crc32cHardware", js_crc32c_hardware) == NULL) return NULL;
  if (export_fn(env, exports, "monotonicNs", js_monotonic_ns) == NULL) return NULL;
  if (export_fn(env, exports, "table", js_table) == NULL) return NULL;
  if (export_fn(env, exports, "register", js_register) == NULL) return NULL;
  if (export_fn(env, exports, "allocate", js_allocate) == NULL) return NULL;
  if (export_fn(env, exports, "receiveBuffer", js_receive_buffer) == NULL) return NULL;
  if (export_fn(env, exports, "receiveCache", js_receive_cache) == NULL) return NULL;
  if (export_fn(env, exports, "cmaPeer", js_cma_peer) == NULL) return NULL;
  if (export_fn(env, exports, "peerCredentials", js_peer_credentials) == NULL) return NULL;
  if (export_fn(env, exports, "shmServe", js_shm_serve) == NULL) return NULL;
  if (export_fn(env, exports, "shmAttach", js_shm_attach) == NULL) return NULL;

  if (verbs_js_init != NULL) return verbs_js_init(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
