/*
 * verbs provider: the JS surface, exported as `addon.verbs` by verbs_js_init (the addon's init
 * calls it through a weak declaration). Documented in packages/rdma/src/providers/verbs.ts.
 *
 *   verbs.probe() -> { available, code?, errno?, reason?, devices, ibverbs, rdmacm }
 *   verbs.open() -> VerbsContext                 (throws Error{code: 'ENOSYS'|'ENODEV'|'ENOENT'|...})
 *   ctx.device; ctx.register(view, access) -> VerbsRegion { addr: bigint, rkey, lkey, length, close() }
 *   ctx.connect(host, port, {privateData?, timeoutMs?, maxInflight?}) -> Promise<VerbsConnection>
 *   ctx.listen(host, port, onConnection, {backlog?, maxInflight?}) -> VerbsListener { port, close() }
 *   ctx.close()
 *   conn.read(region, localOffset, remoteAddr: bigint, rkey, length) -> Promise<number>
 *   conn.write(region, localOffset, remoteAddr: bigint, rkey, length) -> Promise<number>
 *   conn.privateData (server side: what the client sent), conn.inflight, conn.close(),
 *   conn.ondisconnect = (reason: string) => void   (set by the user; called when the peer goes)
 * Failures carry a string `code` (ECLOSED, EDISCONNECTED, ECONNECT, EREMOTEACCESS, EFLUSHED,
 * EQPERROR, ERANGE, EBUSY, EINVAL, errno names) and, for failed completions, `wcStatus`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs.h"
#include "verbs_internal.h"

#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default, NULL}
#define GETTER(name, fn) {name, NULL, NULL, fn, NULL, NULL, napi_default, NULL}

static verbs_env *venv_of(napi_env env, napi_callback_info info) {
  void *data = NULL;
  napi_get_cb_info(env, info, NULL, NULL, NULL, &data);
  return data;
}

/* ------------------------------------------------------------------ probe, open */

static napi_value js_probe(napi_env env, napi_callback_info info) {
  verbs_probe_result r;
  verbs_probe(&r);
  napi_value o, devs, b;
  napi_create_object(env, &o);
  napi_get_boolean(env, r.available != 0, &b);
  napi_set_named_property(env, o, "available", b);
  if (!r.available) {
    napi_set_named_property(env, o, "code", vj_str(env, r.code));
    napi_set_named_property(env, o, "errno", vj_u32(env, (uint32_t)r.err));
    napi_set_named_property(env, o, "reason", vj_str(env, r.reason));
  }
  napi_create_array_with_length(env, (size_t)r.ndevices, &devs);
  for (int i = 0; i < r.ndevices && i < 8; i++) napi_set_element(env, devs, (uint32_t)i, vj_str(env, r.devices[i]));
  napi_set_named_property(env, o, "devices", devs);
  napi_set_named_property(env, o, "ibverbs", vj_str(env, r.ibverbs_name));
  napi_set_named_property(env, o, "rdmacm", vj_str(env, r.rdmacm_name));
  return o;
}

static void ctx_finalize(napi_env env, void *data, void *hint) {
  verbs_ctx *ctx = data;
  /* Open connections, listeners and regions hold the context: none is left here, except at
   * env teardown where the cleanup hook closed everything already. */
  verbs_ctx_close(ctx, ctx->venv != NULL && !ctx->venv->torn_down);
  free(ctx);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  verbs_env *venv = venv_of(env, info);
  verbs_ctx *ctx = calloc(1, sizeof *ctx);
  if (ctx == NULL) return vj_throw_code(env, "ENOMEM", "out of memory");
  char err[512] = "";
  int rc = verbs_ctx_open(ctx, err, sizeof err);
  if (rc != 0) {
    free(ctx);
    char nbuf[16];
    return vj_throw_code(env, verbs_errno_name(rc, nbuf, sizeof nbuf), err);
  }
  ctx->venv = venv;
  ctx->closed = 0;
  VERBS_LINK(venv->ctxs, ctx);
  napi_value obj = vj_new_instance(env, venv->ctor_context);
  if (obj == NULL || napi_wrap(env, obj, ctx, ctx_finalize, NULL, NULL) != napi_ok) {
    verbs_ctx_close(ctx, 1);
    free(ctx);
    return NULL;
  }
  napi_type_tag_object(env, obj, &VJ_TAG_CTX);
  vj_set_prop(env, obj, "device", vj_str(env, ctx->device));
  return obj;
}

/* ------------------------------------------------------------------ context */

static verbs_ctx *open_ctx_of(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, napi_value *self) {
  verbs_ctx *ctx = vj_this_of(env, info, &VJ_TAG_CTX, argc, argv, self);
  if (ctx != NULL && ctx->closed) {
    vj_throw_code(env, "ECLOSED", "the verbs context is closed");
    return NULL;
  }
  return ctx;
}

static void region_finalize(napi_env env, void *data, void *hint) {
  verbs_region *r = data;
  verbs_region_dereg(r, r->venv != NULL && !r->venv->torn_down);
  free(r);
}

static napi_value ctx_register(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  verbs_ctx *ctx = open_ctx_of(env, info, &argc, argv, &self);
  if (ctx == NULL) return NULL;
  bool is_ta = false;
  uint32_t access = VERBS_ACCESS_READ;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta)
    return vj_throw_code(env, "EINVAL", "register(view, access): view must be a Buffer or typed array");
  if (argc >= 2 && (vj_get_u32(env, argv[1], &access) != 0 || access > 3))
    return vj_throw_code(env, "EINVAL", "access must be 0 (local only), 1 (READ), 2 (WRITE) or 3");
  napi_typedarray_type type;
  size_t count = 0, offset = 0;
  void *data = NULL;
  napi_value ab;
  napi_get_typedarray_info(env, argv[0], &type, &count, &data, &ab, &offset);
  static const size_t sizes[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
  size_t bytes = count * ((size_t)type < sizeof sizes / sizeof sizes[0] ? sizes[type] : 1);
  if (bytes == 0 || data == NULL) return vj_throw_code(env, "EINVAL", "cannot register an empty buffer");
  verbs_region *r = calloc(1, sizeof *r);
  if (r == NULL) return vj_throw_code(env, "ENOMEM", "out of memory");
  r->venv = ctx->venv;
  int rc = verbs_region_register(ctx, r, data, bytes, (int)access);
  if (rc != 0) {
    free(r);
    char nbuf[16], msg[128];
    snprintf(msg, sizeof msg, "ibv_reg_mr of %zu bytes failed: %s", bytes, strerror(rc));
    return vj_throw_code(env, verbs_errno_name(rc, nbuf, sizeof nbuf), msg);
  }
  napi_value obj = vj_new_instance(env, ctx->venv->ctor_region);
  if (obj == NULL || napi_wrap(env, obj, r, region_finalize, NULL, NULL) != napi_ok) {
    verbs_region_dereg(r, 1);
    free(r);
    return NULL;
  }
  napi_type_tag_object(env, obj, &VJ_TAG_REGION);
  napi_create_reference(env, argv[0], 1, &r->buf_ref);
  napi_create_reference(env, self, 1, &r->ctx_ref);
  napi_value addr;
  napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)r->mr->addr, &addr);
  vj_set_prop(env, obj, "addr", addr);
  vj_set_prop(env, obj, "rkey", vj_u32(env, r->mr->rkey));
  vj_set_prop(env, obj, "lkey", vj_u32(env, r->mr->lkey));
  napi_value len;
  napi_create_double(env, (double)bytes, &len);
  vj_set_prop(env, obj, "length", len);
  vj_set_prop(env, obj, "access", vj_u32(env, access));
  return obj;
}

static void conn_finalize(napi_env env, void *data, void *hint) {
  verbs_conn *c = data;
  if (c->state != VC_CLOSED && c->ctx != NULL) verbs_conn_close(c, "ECLOSED", "collected", 0);
  free(c);
}

napi_value verbs_wrap_conn(napi_env env, verbs_conn *c) {
  napi_value obj = vj_new_instance(env, c->venv->ctor_conn);
  if (obj == NULL || napi_wrap(env, obj, c, conn_finalize, NULL, NULL) != napi_ok) return NULL;
  napi_type_tag_object(env, obj, &VJ_TAG_CONN);
  c->wrapped = 1;
  napi_create_reference(env, obj, 1, &c->self); /* strong while open, like a socket */
  return obj;
}

static napi_value ctx_connect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL}, self, promise;
  verbs_ctx *ctx = open_ctx_of(env, info, &argc, argv, &self);
  if (ctx == NULL) return NULL;
  struct sockaddr_storage ss;
  uint32_t timeout_ms = 0, max_inflight = VERBS_DEFAULT_MAX_INFLIGHT;
  if (argc < 2 || vj_parse_addr(env, argv[0], argv[1], &ss) != 0)
    return vj_throw_code(env, "EINVAL", "connect(host, port): host must be a numeric IP address, port 0..65535");
  if (vj_opt_u32(env, argv[2], "timeoutMs", &timeout_ms) != 0 ||
      vj_opt_u32(env, argv[2], "maxInflight", &max_inflight) != 0 || max_inflight == 0 || max_inflight > 4096)
    return vj_throw_code(env, "EINVAL", "options.timeoutMs / options.maxInflight (1..4096) must be integers");
  verbs_conn *c = calloc(1, sizeof *c);
  if (c == NULL) return vj_throw_code(env, "ENOMEM", "out of memory");
  c->venv = ctx->venv;
  c->max_inflight = max_inflight;
  napi_valuetype t = napi_undefined;
  napi_value pd = NULL;
  if (argv[2] != NULL && napi_typeof(env, argv[2], &t) == napi_ok && t == napi_object &&
      napi_get_named_property(env, argv[2], "privateData", &pd) == napi_ok) {
    bool is_buf = false;
    void *data = NULL;
    size_t len = 0;
    if (napi_is_buffer(env, pd, &is_buf) == napi_ok && is_buf) {
      napi_get_buffer_info(env, pd, &data, &len);
      if (len > VERBS_MAX_PRIVATE_DATA) {
        free(c);
        return vj_throw_code(env, "EINVAL", "options.privateData is over 56 bytes");
      }
      memcpy(c->private_data, data, len);
      c->private_len = (uint8_t)len;
    }
  }
  napi_value obj = verbs_wrap_conn(env, c);
  if (obj == NULL) {
    free(c);
    return NULL;
  }
  napi_create_reference(env, self, 1, &c->ctx_ref);
  napi_create_promise(env, &c->connect_deferred, &promise);
  char err[384] = "";
  int rc = verbs_conn_start(ctx, c, (struct sockaddr *)&ss, (int)timeout_ms, err, sizeof err);
  if (rc != 0) verbs_conn_close(c, "ECONNECT", err, 1);
  return promise;
}

static void listener_finalize(napi_env env, void *data, void *hint) {
  verbs_listener *l = data;
  if (!l->closed && l->ctx != NULL) verbs_listener_close(l, 0);
  free(l);
}

static napi_value ctx_listen(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4] = {NULL, NULL, NULL, NULL}, self;
  verbs_ctx *ctx = open_ctx_of(env, info, &argc, argv, &self);
  if (ctx == NULL) return NULL;
  struct sockaddr_storage ss;
  napi_valuetype t = napi_undefined;
  uint32_t backlog = 64, max_inflight = VERBS_DEFAULT_MAX_INFLIGHT;
  if (argc < 3 || vj_parse_addr(env, argv[0], argv[1], &ss) != 0 || napi_typeof(env, argv[2], &t) != napi_ok ||
      t != napi_function)
    return vj_throw_code(env, "EINVAL", "listen(host, port, onConnection): numeric host, port 0..65535, a function");
  if (vj_opt_u32(env, argv[3], "backlog", &backlog) != 0 ||
      vj_opt_u32(env, argv[3], "maxInflight", &max_inflight) != 0 || max_inflight == 0 || max_inflight > 4096)
    return vj_throw_code(env, "EINVAL", "options.backlog / options.maxInflight (1..4096) must be integers");
  verbs_listener *l = calloc(1, sizeof *l);
  if (l == NULL) return vj_throw_code(env, "ENOMEM", "out of memory");
  l->venv = ctx->venv;
  l->max_inflight = max_inflight;
  napi_value obj = vj_new_instance(env, ctx->venv->ctor_listener);
  if (obj == NULL || napi_wrap(env, obj, l, listener_finalize, NULL, NULL) != napi_ok) {
    free(l);
    return NULL;
  }
  napi_type_tag_object(env, obj, &VJ_TAG_LISTENER);
  napi_create_reference(env, obj, 1, &l->self);
  napi_create_reference(env, self, 1, &l->ctx_ref);
  napi_create_reference(env, argv[2], 1, &l->on_connection);
  char err[384] = "";
  int rc = verbs_listener_start(ctx, l, (struct sockaddr *)&ss, (int)backlog, err, sizeof err);
  if (rc != 0) {
    verbs_listener_close(l, 1);
    char nbuf[16];
    return vj_throw_code(env, verbs_errno_name(rc, nbuf, sizeof nbuf), err);
  }
  vj_set_prop(env, obj, "port", vj_u32(env, (uint32_t)l->port));
  return obj;
}

static napi_value ctx_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  verbs_ctx *ctx = vj_this_of(env, info, &VJ_TAG_CTX, &argc, NULL, NULL);
  if (ctx != NULL) verbs_ctx_close(ctx, 1);
  return NULL;
}

/* ------------------------------------------------------------------ region, listener */

static napi_value region_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  verbs_region *r = vj_this_of(env, info, &VJ_TAG_REGION, &argc, NULL, NULL);
  if (r != NULL) verbs_region_close(r, 1);
  return NULL;
}

static napi_value region_registered(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  verbs_region *r = vj_this_of(env, info, &VJ_TAG_REGION, &argc, NULL, NULL);
  napi_value b;
  napi_get_boolean(env, r != NULL && r->ctx != NULL && !r->closing, &b);
  return b;
}

static napi_value listener_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  verbs_listener *l = vj_this_of(env, info, &VJ_TAG_LISTENER, &argc, NULL, NULL);
  if (l != NULL && !l->closed) verbs_listener_close(l, 1);
  return NULL;
}

/* ------------------------------------------------------------------ connection */

static napi_value conn_post(napi_env env, napi_callback_info info, int write) {
  size_t argc = 5;
  napi_value argv[5], promise;
  verbs_conn *c = vj_this_of(env, info, &VJ_TAG_CONN, &argc, argv, NULL);
  if (c == NULL) return NULL;
  verbs_op *op = calloc(1, sizeof *op);
  if (op == NULL) return vj_throw_code(env, "ENOMEM", "out of memory");
  op->write = write;
  napi_create_promise(env, &op->deferred, &promise);
  uint32_t local_offset = 0, rkey = 0, length = 0;
  uint64_t remote_addr = 0;
  verbs_region *r = argc >= 1 ? vj_unwrap_tagged(env, argv[0], &VJ_TAG_REGION) : NULL;
  char err[384], codebuf[16];
  const char *code = NULL;
  if (argc < 5 || r == NULL || vj_get_u32(env, argv[1], &local_offset) != 0 || vj_get_u64(env, argv[2], &remote_addr) != 0 ||
      vj_get_u32(env, argv[3], &rkey) != 0 || vj_get_u32(env, argv[4], &length) != 0) {
    code = "EINVAL";
    snprintf(err, sizeof err, "%s(region, localOffset, remoteAddr, rkey, length): bad arguments", write ? "write" : "read");
  } else {
    int rc = verbs_conn_post(c, op, r, local_offset, remote_addr, rkey, length, err, sizeof err);
    if (rc == 0) {
      napi_create_reference(env, argv[0], 1, &op->region_ref); /* the region outlives the op */
      return promise;
    }
    code = rc == ENOTCONN ? "ECLOSED" : rc == EIO && c->qp_error ? "EQPERROR" : verbs_errno_name(rc, codebuf, sizeof codebuf);
  }
  napi_reject_deferred(env, op->deferred, verbs_make_error(env, code, -1, err));
  free(op);
  return promise;
}

static napi_value conn_read(napi_env env, napi_callback_info info) { return conn_post(env, info, 0); }
static napi_value conn_write(napi_env env, napi_callback_info info) { return conn_post(env, info, 1); }

static napi_value conn_close_js(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  verbs_conn *c = vj_this_of(env, info, &VJ_TAG_CONN, &argc, NULL, NULL);
  if (c != NULL && c->state != VC_CLOSED) verbs_conn_close(c, "ECLOSED", "the connection was closed", 1);
  return NULL;
}

static napi_value conn_private_data(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  verbs_conn *c = vj_this_of(env, info, &VJ_TAG_CONN, &argc, NULL, NULL);
  if (c == NULL) return NULL;
  napi_value buf;
  napi_create_buffer_copy(env, c->private_len, c->private_data, NULL, &buf);
  return buf;
}

static napi_value conn_inflight(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  verbs_conn *c = vj_this_of(env, info, &VJ_TAG_CONN, &argc, NULL, NULL);
  return c == NULL ? NULL : vj_u32(env, c->inflight);
}

static napi_value conn_open(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  verbs_conn *c = vj_this_of(env, info, &VJ_TAG_CONN, &argc, NULL, NULL);
  napi_value b;
  napi_get_boolean(env, c != NULL && c->state == VC_ESTABLISHED && !c->qp_error, &b);
  return b;
}

/* ------------------------------------------------------------------ init */

static void env_cleanup(void *arg) {
  verbs_env *venv = arg;
  venv->torn_down = 1; /* finalizers that run later only free memory */
  while (venv->ctxs != NULL) {
    verbs_ctx *ctx = venv->ctxs;
    verbs_ctx_close(ctx, 0);
    ctx->venv = NULL;
  }
  /* venv itself stays allocated: finalizers of this env may still look at it. */
}

static napi_ref define_class(napi_env env, const char *name, size_t n, const napi_property_descriptor *props) {
  napi_value cls;
  napi_ref ref = NULL;
  if (napi_define_class(env, name, NAPI_AUTO_LENGTH, vj_guarded_ctor, NULL, n, props, &cls) == napi_ok)
    napi_create_reference(env, cls, 1, &ref);
  return ref;
}

napi_value verbs_js_init(napi_env env, napi_value exports) {
  verbs_env *venv = calloc(1, sizeof *venv);
  if (venv == NULL) return exports;
  venv->env = env;
  const napi_property_descriptor ctx_props[] = {
    METHOD("register", ctx_register), METHOD("connect", ctx_connect), METHOD("listen", ctx_listen),
    METHOD("close", ctx_close)};
  const napi_property_descriptor region_props[] = {METHOD("close", region_close),
                                                   GETTER("registered", region_registered)};
  const napi_property_descriptor conn_props[] = {
    METHOD("read", conn_read),       METHOD("write", conn_write),   METHOD("close", conn_close_js),
    GETTER("privateData", conn_private_data), GETTER("inflight", conn_inflight), GETTER("open", conn_open)};
  const napi_property_descriptor listener_props[] = {METHOD("close", listener_close)};
  venv->ctor_context = define_class(env, "VerbsContext", 4, ctx_props);
  venv->ctor_region = define_class(env, "VerbsRegion", 2, region_props);
  venv->ctor_conn = define_class(env, "VerbsConnection", 6, conn_props);
  venv->ctor_listener = define_class(env, "VerbsListener", 1, listener_props);
  napi_value resource, name, verbs;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &venv->resource);
  napi_create_string_utf8(env, "openclaw-ipc:verbs", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &venv->actx);
  napi_add_env_cleanup_hook(env, env_cleanup, venv);
  napi_create_object(env, &verbs);
  const napi_property_descriptor fns[] = {
    {"probe", NULL, js_probe, NULL, NULL, NULL, napi_enumerable, venv},
    {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, venv},
  };
  napi_define_properties(env, verbs, 2, fns);
  napi_set_named_property(env, exports, "verbs", verbs);
  return exports;
}
