/*
 * One-sided copies shared by the cma and shm providers: argument parsing, the Promise, and
 * where the copy runs. Copies under the owner's async_threshold run at once on the JS thread;
 * larger ones run as napi_async_work on the thread pool (a memory copy, never a wait on a
 * peer). A copy holds a reference to its local buffer until it settles.
 *
 * Close: copies not yet started are cancelled, copies that finish after close are rejected
 * with ECLOSED; every promise settles.
 */
#include <stdlib.h>

#include "copy.h"

static void settle(napi_env env, copy_work_t *w, bool closed) {
  napi_value v;
  copy_req_t *r = &w->req;
  if (closed && r->rc == RC_OK) r->rc = RC_CLOSED;
  if (r->rc != RC_OK) {
    v = make_error(env, r->rc, r->sys_errno, "%s of %zu bytes at key 0x%08x failed (%s)", r->write ? "write" : "read",
                   r->len, r->key, rc_name(r->rc));
    napi_reject_deferred(env, w->deferred, v);
  } else {
    if (r->want_crc) v = make_u32(env, r->crc);
    else napi_create_double(env, (double)r->len, &v);
    napi_resolve_deferred(env, w->deferred, v);
  }
  if (w->buf_ref != NULL) napi_delete_reference(env, w->buf_ref);
  free(w);
}

static void unlink_work(copy_owner_t *o, copy_work_t *w) {
  if (w->prev != NULL) w->prev->next = w->next;
  else o->works = w->next;
  if (w->next != NULL) w->next->prev = w->prev;
}

static void execute(napi_env env, void *data) {
  (void)env;
  copy_work_t *w = data;
  w->owner->exec(w->owner->peer, &w->req);
}

static void complete(napi_env env, napi_status status, void *data) {
  copy_work_t *w = data;
  copy_owner_t *o = w->owner;
  napi_delete_async_work(env, w->work);
  unlink_work(o, w);
  o->pending--;
  if (status == napi_cancelled) w->req.rc = RC_CLOSED;
  if (o->done != NULL) o->done(o->peer, &w->req);
  settle(env, w, o->closed);
  if (o->idle != NULL && o->pending == 0) o->idle(o->peer);
}

copy_work_t *copy_parse(napi_env env, copy_owner_t *o, size_t argc, napi_value *argv, bool write, napi_value *promise) {
  uint32_t key, flags = 0;
  uint64_t raddr, len, off;
  uint8_t *data;
  size_t buflen;
  if (argc < 5 || !arg_u32(env, argv[0], &key) || !arg_u64(env, argv[1], &raddr) || !arg_u64(env, argv[2], &len) ||
      !arg_bytes(env, argv[3], &data, &buflen) || !arg_u64(env, argv[4], &off)) {
    throw_error(env, RC_INVAL, 0, "%s(key, remoteAddr, length, buffer, offset[, flags]): bad arguments",
                write ? "write" : "read");
    return NULL;
  }
  if (argc >= 6) {
    napi_valuetype t;
    napi_typeof(env, argv[5], &t);
    if (t != napi_undefined && !arg_u32(env, argv[5], &flags)) {
      throw_error(env, RC_INVAL, 0, "read: flags must be an unsigned integer");
      return NULL;
    }
  }
  if (off > buflen || len > buflen - off) {
    throw_error(env, RC_INVAL, 0, "%s: %llu bytes at offset %llu do not fit the %zu-byte buffer",
                write ? "write" : "read", (unsigned long long)len, (unsigned long long)off, buflen);
    return NULL;
  }
  copy_work_t *w = calloc(1, sizeof *w);
  if (w == NULL) {
    throw_error(env, RC_CAPACITY, 0, "out of memory");
    return NULL;
  }
  w->owner = o;
  w->req.key = key;
  w->req.raddr = raddr;
  w->req.len = (size_t)len;
  w->req.local = data + off;
  w->req.write = write;
  w->req.want_crc = !write && (flags & COPY_CRC) != 0;
  if (promise != NULL) {
    if (napi_create_promise(env, &w->deferred, promise) != napi_ok ||
        napi_create_reference(env, argv[3], 1, &w->buf_ref) != napi_ok) {
      free(w);
      return NULL;
    }
  }
  return w;
}

void copy_run(napi_env env, copy_work_t *w) {
  copy_owner_t *o = w->owner;
  if (o->closed) {
    w->req.rc = RC_CLOSED;
    settle(env, w, true);
    return;
  }
  if (w->req.len < o->async_threshold) {
    o->exec(o->peer, &w->req);
    if (o->done != NULL) o->done(o->peer, &w->req);
    settle(env, w, false);
    return;
  }
  napi_value name;
  napi_create_string_utf8(env, "openclaw-ipc:rdma-copy", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, execute, complete, w, &w->work) != napi_ok ||
      napi_queue_async_work(env, w->work) != napi_ok) {
    w->req.rc = RC_CAPACITY;
    if (o->done != NULL) o->done(o->peer, &w->req);
    settle(env, w, false);
    return;
  }
  o->pending++;
  w->prev = NULL;
  w->next = o->works;
  if (o->works != NULL) o->works->prev = w;
  o->works = w;
}

void copy_fail(napi_env env, copy_work_t *w, int rc, int sys_errno) {
  w->req.rc = rc;
  w->req.sys_errno = sys_errno;
  settle(env, w, false);
}

void copy_close(napi_env env, copy_owner_t *o) {
  o->closed = true;
  for (copy_work_t *w = o->works; w != NULL; w = w->next) napi_cancel_async_work(env, w->work);
}

napi_value copy_sync(napi_env env, copy_owner_t *o, size_t argc, napi_value *argv, bool write) {
  copy_work_t *w = copy_parse(env, o, argc, argv, write, NULL);
  if (w == NULL) return NULL;
  copy_req_t r = w->req;
  free(w);
  if (o->closed) return throw_error(env, RC_CLOSED, 0, "%s: the peer handle is closed", write ? "write" : "read");
  o->exec(o->peer, &r);
  if (o->done != NULL) o->done(o->peer, &r);
  if (r.rc != RC_OK)
    return throw_error(env, r.rc, r.sys_errno, "%s of %zu bytes at key 0x%08x failed (%s)", write ? "write" : "read",
                       r.len, r.key, rc_name(r.rc));
  napi_value v;
  if (r.want_crc) v = make_u32(env, r.crc);
  else napi_create_double(env, (double)r.len, &v);
  return v;
}
