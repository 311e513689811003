/* verbs provider: helpers of the JS surface (verbs_js.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verbs.h"
#include "verbs_internal.h"

static const int ctor_sentinel = 0;
const napi_type_tag VJ_TAG_CTX = {0x6f70656e636c6177ULL, 0x7662637478000001ULL};
const napi_type_tag VJ_TAG_REGION = {0x6f70656e636c6177ULL, 0x7662726567000002ULL};
const napi_type_tag VJ_TAG_CONN = {0x6f70656e636c6177ULL, 0x7662636f6e000003ULL};
const napi_type_tag VJ_TAG_LISTENER = {0x6f70656e636c6177ULL, 0x76626c7374000004ULL};

napi_value verbs_make_error(napi_env env, const char *code, int wc_status, const char *message) {
  napi_value msg, c, e;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &e);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_set_named_property(env, e, "code", c);
  if (wc_status >= 0) {
    napi_value s;
    napi_create_string_utf8(env, verbs_wc_status_name(wc_status), NAPI_AUTO_LENGTH, &s);
    napi_set_named_property(env, e, "wcStatus", s);
  }
  return e;
}

napi_value vj_throw_code(napi_env env, const char *code, const char *message) {
  napi_throw(env, verbs_make_error(env, code, -1, message));
  return NULL;
}

void verbs_rethrow_pending(napi_env env) {
  bool pending = false;
  napi_value exc;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
      napi_get_and_clear_last_exception(env, &exc) == napi_ok)
    napi_fatal_exception(env, exc);
}

void verbs_in_scope(verbs_env *venv, verbs_scope_fn fn, void *arg) {
  napi_env env = venv->env;
  napi_handle_scope hs;
  napi_callback_scope cs;
  napi_value resource;
  if (venv->torn_down || napi_open_handle_scope(env, &hs) != napi_ok) return;
  napi_get_reference_value(env, venv->resource, &resource);
  int scoped = napi_open_callback_scope(env, resource, venv->actx, &cs) == napi_ok;
  fn(arg);
  if (scoped) napi_close_callback_scope(env, cs); /* runs the settled promises' continuations */
  verbs_rethrow_pending(env);
  napi_close_handle_scope(env, hs);
}

/* ------------------------------------------------------------------ helpers */

napi_value vj_new_instance(napi_env env, napi_ref ctor_ref) {
  napi_value ctor, ext, obj;
  if (napi_get_reference_value(env, ctor_ref, &ctor) != napi_ok) return NULL;
  napi_create_external(env, (void *)&ctor_sentinel, NULL, NULL, &ext);
  if (napi_new_instance(env, ctor, 1, &ext, &obj) != napi_ok) return NULL;
  return obj;
}

napi_value vj_guarded_ctor(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  void *p = NULL;
  napi_valuetype t = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, &self, NULL);
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || p != &ctor_sentinel) {
    napi_throw_type_error(env, "ERR_ILLEGAL_CONSTRUCTOR", "not constructible: use verbs.open()");
    return NULL;
  }
  return self;
}

/* The native struct behind `v` when it carries `tag`, else NULL. */
void *vj_unwrap_tagged(napi_env env, napi_value v, const napi_type_tag *tag) {
  bool ok = false;
  void *p = NULL;
  napi_valuetype t = napi_undefined;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_object) return NULL;
  if (napi_check_object_type_tag(env, v, tag, &ok) != napi_ok || !ok) return NULL;
  if (napi_unwrap(env, v, &p) != napi_ok) return NULL;
  return p;
}

void *vj_this_of(napi_env env, napi_callback_info info, const napi_type_tag *tag, size_t *argc, napi_value *argv,
                     napi_value *self_out) {
  napi_value self;
  napi_get_cb_info(env, info, argc, argv, &self, NULL);
  if (self_out != NULL) *self_out = self;
  void *p = vj_unwrap_tagged(env, self, tag);
  if (p == NULL) napi_throw_type_error(env, "ERR_INVALID_THIS", "method called on the wrong object");
  return p;
}

int vj_get_u32(napi_env env, napi_value v, uint32_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return -1;
  napi_get_value_double(env, v, &d);
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) return -1;
  *out = (uint32_t)d;
  return 0;
}

int vj_get_u64(napi_env env, napi_value v, uint64_t *out) {
  napi_valuetype t;
  bool lossless = false;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_bigint) return napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok && lossless ? 0 : -1;
  uint32_t u;
  if (vj_get_u32(env, v, &u) != 0) return -1;
  *out = u;
  return 0;
}

/* Reads options.name as a u32 when present; returns -1 for a bad value. */
int vj_opt_u32(napi_env env, napi_value opts, const char *name, uint32_t *out) {
  napi_valuetype t = napi_undefined;
  napi_value v;
  bool has = false;
  if (opts == NULL || napi_typeof(env, opts, &t) != napi_ok || t != napi_object) return 0;
  if (napi_has_named_property(env, opts, name, &has) != napi_ok || !has) return 0;
  napi_get_named_property(env, opts, name, &v);
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_undefined) return 0;
  return vj_get_u32(env, v, out);
}

/* A numeric IPv4/IPv6 host and a port into `ss`. */
int vj_parse_addr(napi_env env, napi_value host, napi_value port, struct sockaddr_storage *ss) {
  char h[64];
  size_t len = 0;
  uint32_t p;
  if (napi_get_value_string_utf8(env, host, h, sizeof h, &len) != napi_ok || len >= sizeof h - 1) return -1;
  if (vj_get_u32(env, port, &p) != 0 || p > 65535) return -1;
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, h, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)p);
    return 0;
  }
  if (inet_pton(AF_INET6, h, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)p);
    return 0;
  }
  return -1;
}

void vj_set_prop(napi_env env, napi_value obj, const char *name, napi_value v) {
  napi_property_descriptor d = {name, NULL, NULL, NULL, NULL, v, napi_enumerable, NULL};
  napi_define_properties(env, obj, 1, &d);
}

napi_value vj_str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value vj_u32(napi_env env, uint32_t n) {
  napi_value v;
  napi_create_uint32(env, n, &v);
  return v;
}

