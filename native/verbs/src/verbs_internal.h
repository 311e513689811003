/* Helpers shared by the verbs provider's C files (not part of the addon's interface). */
#ifndef OPENCLAW_VERBS_INTERNAL_H
#define OPENCLAW_VERBS_INTERNAL_H

#include "verbs.h"

#define VERBS_LINK(head, x)                 \
  do {                                      \
    (x)->prev = NULL;                       \
    (x)->next = (head);                     \
    if ((head) != NULL) (head)->prev = (x); \
    (head) = (x);                           \
  } while (0)

#define VERBS_UNLINK(head, x)                              \
  do {                                                     \
    if ((x)->prev != NULL) (x)->prev->next = (x)->next;    \
    else (head) = (x)->next;                               \
    if ((x)->next != NULL) (x)->next->prev = (x)->prev;    \
    (x)->next = (x)->prev = NULL;                          \
  } while (0)

int verbs_set_nonblock(int fd);
/* "<what> failed with ENAME (strerror)" into err. */
void verbs_errfmt(char *err, size_t len, const char *what, int e);
/* Watches fd for reading on the env's loop; NULL on failure. */
uv_poll_t *verbs_poll_start(verbs_env *venv, int fd, void *data, uv_poll_cb cb);
void verbs_poll_stop(uv_poll_t **hp);
void verbs_region_dereg(verbs_region *r, int napi_ok);
void verbs_op_release(verbs_conn *c, verbs_op *op, int napi_ok);
void verbs_drain_cq(void *conn);


/* --- verbs_js_util.c: JS helpers --- */
extern const napi_type_tag VJ_TAG_CTX, VJ_TAG_REGION, VJ_TAG_CONN, VJ_TAG_LISTENER;
/* Throws an Error with `code`; returns NULL for the caller to return. */
napi_value vj_throw_code(napi_env env, const char *code, const char *message);
/* An instance of a class whose constructor is vj_guarded_ctor (not constructible from JS). */
napi_value vj_new_instance(napi_env env, napi_ref ctor_ref);
napi_value vj_guarded_ctor(napi_env env, napi_callback_info info);
/* The native struct behind `v` when it carries `tag`, else NULL. */
void *vj_unwrap_tagged(napi_env env, napi_value v, const napi_type_tag *tag);
/* The native struct behind `this` (throws ERR_INVALID_THIS and returns NULL otherwise). */
void *vj_this_of(napi_env env, napi_callback_info info, const napi_type_tag *tag, size_t *argc, napi_value *argv,
                 napi_value *self_out);
int vj_get_u32(napi_env env, napi_value v, uint32_t *out);
int vj_get_u64(napi_env env, napi_value v, uint64_t *out);
/* options[name] as a u32 when present (0: absent or read; -1: not a u32). */
int vj_opt_u32(napi_env env, napi_value opts, const char *name, uint32_t *out);
/* A numeric IPv4/IPv6 host and a port. */
int vj_parse_addr(napi_env env, napi_value host, napi_value port, struct sockaddr_storage *ss);
void vj_set_prop(napi_env env, napi_value obj, const char *name, napi_value v);
napi_value vj_str(napi_env env, const char *s);
napi_value vj_u32(napi_env env, uint32_t n);

#endif
