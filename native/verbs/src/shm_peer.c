/*
 * shm provider, reading side: shmAttach(path) connects to a peer's fd socket (shm.c), maps its
 * registration table read-only, fetches and caches its arenas, and runs checked copies from
 * the mappings. The connection is polled on the JS thread; every JS-visible effect of a poll
 * callback (promises, onclose) runs inside a callback scope, so continuations run at once.
 *
 * The connection ending (the peer exited or closed its server) makes later reads fail with
 * ESRCH and calls `peer.onclose(err)`; copies already running finish from the mappings, which
 * stay until the peer object is closed and idle.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shm.h"

#define DEFAULT_MAX_ARENAS 1024u
#define DEFAULT_ASYNC_THRESHOLD (1u << 20)
#define MAX_OUTSTANDING 64u /* GET_ARENA requests in flight */
#define MAX_WAITING 4096u   /* reads waiting for an arena */

typedef struct {
  uint32_t id;
  uint8_t *base;
  size_t size;
  uint32_t inflight; /* copies using the mapping */
  uint64_t last_used;
} arena_map_t;

typedef struct shm_peer_s {
  copy_owner_t owner;
  addon_t *a;
  napi_env env;
  poll_box_t *poll;
  int fd;
  napi_deferred attach; /* until the table is mapped */
  napi_ref self;        /* strong while attaching, weak afterwards */
  const uint8_t *table;
  size_t table_size;
  uint32_t capacity;
  uint32_t pid;
  arena_map_t *maps;
  uint32_t nmaps, max_maps;
  uint64_t tick;
  uint32_t outstanding[MAX_OUTSTANDING]; /* FIFO of requested arena ids; 0 = the table */
  uint32_t out_head, out_count;
  copy_work_t *waiting; /* reads waiting for their arena, linked through ->next */
  uint32_t nwaiting;
  uint8_t rbuf[RESP_SIZE];
  size_t rhave;
  int rfd; /* fd received with the response being read */
  int gone; /* rc once the connection ended */
  bool finalized, handle_open;
  struct shm_peer_s *prev, *next;
} shm_peer_t;

/* ------------------------------------------------------------------ lifetime */

static void unmap_all(shm_peer_t *p) {
  for (uint32_t i = 0; i < p->nmaps; i++) munmap(p->maps[i].base, p->maps[i].size);
  p->nmaps = 0;
  free(p->maps);
  p->maps = NULL;
  if (p->table != NULL) munmap((void *)p->table, p->table_size);
  p->table = NULL;
}

static void peer_maybe_free(void *peer) {
  shm_peer_t *p = peer;
  if (p->owner.closed && p->owner.pending == 0) unmap_all(p);
  if (p->finalized && p->owner.closed && p->owner.pending == 0 && !p->handle_open) free(p);
}

static void handle_closed(void *owner) {
  shm_peer_t *p = owner;
  p->handle_open = false;
  peer_maybe_free(p);
}

static void fail_waiting(napi_env env, shm_peer_t *p, uint32_t arena_id, int rc, int sys_errno) {
  copy_work_t **pp = &p->waiting;
  while (*pp != NULL) {
    copy_work_t *w = *pp;
    if (arena_id == 0 || w->wait_arena == arena_id) {
      *pp = w->next;
      p->nwaiting--;
      copy_fail(env, w, rc, sys_errno);
    } else {
      pp = &w->next;
    }
  }
}

/* Ends the connection (gone = rc): the attach promise and waiting reads fail with rc. */
static void disconnect(napi_env env, shm_peer_t *p, int rc, int sys_errno) {
  if (p->gone) return;
  p->gone = rc;
  if (p->handle_open) poll_close(p->poll, p->fd, handle_closed);
  else if (p->fd >= 0) close(p->fd);
  p->fd = -1;
  if (p->rfd >= 0) close(p->rfd);
  p->rfd = -1;
  if (p->prev != NULL) p->prev->next = p->next;
  else if (p->a->peers == p) p->a->peers = p->next;
  if (p->next != NULL) p->next->prev = p->prev;
  p->prev = p->next = NULL;
  if (p->a->tearing_down) return; /* env teardown: no more JS */
  if (p->attach != NULL) {
    napi_reject_deferred(env, p->attach, make_error(env, rc, sys_errno, "shmAttach: the peer's fd socket failed"));
    p->attach = NULL;
    if (p->self != NULL) napi_reference_unref(env, p->self, NULL);
  }
  fail_waiting(env, p, 0, rc, sys_errno);
}

static void peer_close(napi_env env, shm_peer_t *p) {
  if (p->owner.closed) return;
  copy_close(env, &p->owner);
  disconnect(env, p, RC_CLOSED, 0);
}

/* ------------------------------------------------------------------ JS callbacks from libuv */

typedef struct {
  napi_handle_scope hs;
  napi_callback_scope cs;
} js_scope_t;

static void scope_open(napi_env env, addon_t *a, js_scope_t *s) {
  napi_open_handle_scope(env, &s->hs);
  napi_value resource;
  s->cs = NULL;
  if (napi_get_reference_value(env, a->resource, &resource) == napi_ok && resource != NULL &&
      napi_open_callback_scope(env, resource, a->async_ctx, &s->cs) != napi_ok)
    s->cs = NULL;
}

static void scope_close(napi_env env, js_scope_t *s) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  if (s->cs != NULL) napi_close_callback_scope(env, s->cs);
  napi_close_handle_scope(env, s->hs);
}

/* Calls peer.onclose(err) if the object is alive and has one. */
static void call_onclose(napi_env env, shm_peer_t *p, int rc) {
  napi_value obj, fn;
  napi_valuetype t;
  if (p->self == NULL || napi_get_reference_value(env, p->self, &obj) != napi_ok || obj == NULL) return;
  if (napi_get_named_property(env, obj, "onclose", &fn) != napi_ok || napi_typeof(env, fn, &t) != napi_ok ||
      t != napi_function)
    return;
  napi_value err = make_error(env, rc, 0, "the shm peer (pid %u) closed its fd socket", p->pid);
  napi_call_function(env, obj, fn, 1, &err, NULL);
}

/* ------------------------------------------------------------------ requests and responses */

/* An answer awaited (attach, arena fetch) holds the event loop, an idle connection does not. */
static void update_ref(shm_peer_t *p) {
  if (!p->handle_open || p->gone) return;
  if (p->out_count > 0) uv_ref((uv_handle_t *)&p->poll->handle);
  else uv_unref((uv_handle_t *)&p->poll->handle);
}

static bool send_request(shm_peer_t *p, uint16_t op, uint32_t arena_id) {
  if (p->out_count == MAX_OUTSTANDING) return false;
  shm_request_t q = {.magic = SHM_MAGIC, .version = SHM_VERSION, .op = op, .arena_id = arena_id};
  ssize_t n;
  do n = send(p->fd, &q, sizeof q, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof q) return false; /* 16 bytes on an idle socket: only a broken peer blocks it */
  p->outstanding[(p->out_head + p->out_count++) % MAX_OUTSTANDING] = arena_id;
  update_ref(p);
  return true;
}

/* Maps a received memfd after checking it is sealed against shrinking (no SIGBUS later). */
static uint8_t *map_fd(int fd, uint64_t size, bool writable, size_t *mapped) {
  struct stat st;
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &st) != 0 || (uint64_t)st.st_size != size || size == 0)
    return NULL;
  void *m = mmap(NULL, (size_t)size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return NULL;
  *mapped = (size_t)size;
  return m;
}

static arena_map_t *find_map(shm_peer_t *p, uint32_t id) {
  for (uint32_t i = 0; i < p->nmaps; i++)
    if (p->maps[i].id == id) return &p->maps[i];
  return NULL;
}

/* A slot for a new mapping: a free one, or the least recently used idle one (unmapped). */
static arena_map_t *map_slot(shm_peer_t *p) {
  if (p->nmaps < p->max_maps) return &p->maps[p->nmaps++];
  arena_map_t *victim = NULL;
  for (uint32_t i = 0; i < p->nmaps; i++)
    if (p->maps[i].inflight == 0 && (victim == NULL || p->maps[i].last_used < victim->last_used))
      victim = &p->maps[i];
  if (victim != NULL) munmap(victim->base, victim->size);
  return victim;
}

static void start_copy(napi_env env, shm_peer_t *p, copy_work_t *w, arena_map_t *m) {
  m->inflight++;
  m->last_used = ++p->tick;
  w->req.ctx = m;
  copy_run(env, w);
}

static void got_table(napi_env env, shm_peer_t *p, const shm_response_t *r, int fd) {
  int rc = r->status != 0 ? r->status : RC_OK;
  if (rc == RC_OK) {
    p->table = fd >= 0 ? map_fd(fd, r->size, false, &p->table_size) : NULL;
    const table_header_t *h = (const table_header_t *)p->table;
    if (h == NULL || h->magic != TABLE_MAGIC || h->version != TABLE_VERSION || h->slot_size != SLOT_SIZE ||
        h->capacity == 0 || (h->capacity & (h->capacity - 1)) != 0 ||
        p->table_size < TABLE_HEADER + (uint64_t)h->capacity * SLOT_SIZE)
      rc = RC_PROTO;
    else
      p->capacity = h->capacity;
  }
  if (rc != RC_OK) {
    disconnect(env, p, rc >= RC_COUNT ? RC_PROTO : rc, 0);
    return;
  }
  napi_value obj;
  napi_get_reference_value(env, p->self, &obj);
  set_prop(env, obj, "capacity", make_u32(env, p->capacity));
  napi_resolve_deferred(env, p->attach, obj);
  p->attach = NULL;
  napi_reference_unref(env, p->self, NULL);
}

static void got_arena(napi_env env, shm_peer_t *p, const shm_response_t *r, int fd) {
  uint32_t id = r->arena_id;
  arena_map_t *m = NULL;
  int rc = r->status != 0 ? (r->status < RC_COUNT ? r->status : RC_PROTO) : RC_OK;
  if (rc == RC_OK) {
    size_t size = 0;
    uint8_t *base = fd >= 0 ? map_fd(fd, r->size, true, &size) : NULL;
    if (base == NULL) rc = RC_PROTO;
    else if ((m = map_slot(p)) == NULL) {
      munmap(base, size);
      rc = RC_CAPACITY;
    } else {
      *m = (arena_map_t){.id = id, .base = base, .size = size};
    }
  }
  copy_work_t **pp = &p->waiting;
  while (*pp != NULL) {
    copy_work_t *w = *pp;
    if (w->wait_arena != id) {
      pp = &w->next;
      continue;
    }
    *pp = w->next;
    p->nwaiting--;
    w->prev = w->next = NULL;
    if (m != NULL) start_copy(env, p, w, m);
    else copy_fail(env, w, rc == RC_KEY ? RC_KEY : rc, 0);
  }
}

/* One complete response in p->rbuf (with p->rfd): false on a protocol violation. */
static bool got_response(napi_env env, shm_peer_t *p) {
  shm_response_t r;
  memcpy(&r, p->rbuf, sizeof r);
  int fd = p->rfd;
  p->rfd = -1;
  bool ok = p->out_count > 0 && r.magic == SHM_MAGIC;
  uint32_t expected = ok ? p->outstanding[p->out_head] : 0;
  ok = ok && r.arena_id == expected && r.op == (expected == 0 ? OP_GET_TABLE : OP_GET_ARENA) &&
       (r.status != 0) == (fd < 0);
  if (ok) {
    p->out_head = (p->out_head + 1) % MAX_OUTSTANDING;
    p->out_count--;
    update_ref(p);
    if (expected == 0) got_table(env, p, &r, fd);
    else got_arena(env, p, &r, fd);
  }
  if (fd >= 0) close(fd); /* mapped (or refused): the mapping keeps the memory */
  return ok;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  shm_peer_t *p = h->data;
  napi_env env = p->env;
  js_scope_t scope;
  scope_open(env, p->a, &scope);
  int rc = status < 0 ? RC_SRCH : RC_OK;
  while (rc == RC_OK && p->gone == 0) {
    union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(4 * sizeof(int))];
    } ctl;
    /* Never read past the current response, so an fd always arrives with its own response. */
    struct iovec iov = {p->rbuf + p->rhave, RESP_SIZE - p->rhave};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t n = recvmsg(p->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
      if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
        if (p->rfd < 0 && p->rhave == 0 && i == 0) p->rfd = fd;
        else {
          close(fd);
          rc = RC_PROTO;
        }
      }
    }
    if (n <= 0) {
      rc = RC_SRCH;
      break;
    }
    p->rhave += (size_t)n;
    if (p->rhave < RESP_SIZE) continue;
    p->rhave = 0;
    if (rc == RC_OK && !got_response(env, p)) rc = RC_PROTO;
  }
  if (rc != RC_OK && p->gone == 0) {
    bool attached = p->attach == NULL;
    disconnect(env, p, rc, 0);
    if (attached) call_onclose(env, p, rc);
  }
  scope_close(env, &scope);
}

/* ------------------------------------------------------------------ copies */

static void shm_exec(void *peer, copy_req_t *r) {
  shm_peer_t *p = peer;
  arena_map_t *m = r->ctx;
  const slot_t *slot = (const slot_t *)(p->table + TABLE_HEADER + (size_t)(r->key & (p->capacity - 1)) * SLOT_SIZE);
  slot_view_t s;
  r->rc = slot_snapshot(slot, &s);
  if (r->rc == RC_OK) r->rc = slot_check(&s, r->key, r->raddr, r->len, r->write ? ACCESS_WRITE : ACCESS_READ);
  if (r->rc != RC_OK) return;
  uint64_t off = s.arena_off + (r->raddr - s.addr);
  if (s.arena_id != m->id || off > m->size || r->len > m->size - off) {
    r->rc = s.arena_id != m->id ? RC_CHANGED : RC_RANGE;
    return;
  }
  uint8_t *remote = m->base + off;
  if (r->write) memcpy(remote, r->local, r->len);
  else if (r->want_crc) r->crc = crc32c_copy(0, r->local, remote, r->len);
  else memcpy(r->local, remote, r->len);
  atomic_thread_fence(memory_order_acquire);
  if (atomic_load_explicit(&((slot_t *)slot)->seq, memory_order_relaxed) != s.seq) r->rc = RC_CHANGED;
}

static void shm_done(void *peer, copy_req_t *r) {
  (void)peer;
  arena_map_t *m = r->ctx;
  if (m != NULL) m->inflight--;
}

static napi_value shm_method(napi_env env, napi_callback_info info, bool write) {
  size_t argc = 6;
  napi_value argv[6];
  shm_peer_t *p = unwrap_this(env, info, &argc, argv);
  if (p == NULL) return NULL;
  napi_value promise;
  copy_work_t *w = copy_parse(env, &p->owner, argc, argv, write, &promise);
  if (w == NULL) return NULL;
  if (p->owner.closed || p->table == NULL) {
    copy_fail(env, w, RC_CLOSED, 0);
    return promise;
  }
  if (p->gone) {
    copy_fail(env, w, RC_SRCH, 0);
    return promise;
  }
  /* Which arena: from the slot (checked again, fully, when the copy runs). */
  const slot_t *slot = (const slot_t *)(p->table + TABLE_HEADER + (size_t)(w->req.key & (p->capacity - 1)) * SLOT_SIZE);
  slot_view_t s;
  int rc = slot_snapshot(slot, &s);
  if (rc == RC_OK) rc = slot_check(&s, w->req.key, w->req.raddr, w->req.len, write ? ACCESS_WRITE : ACCESS_READ);
  if (rc == RC_OK && s.arena_id == 0) rc = RC_NOTSHM;
  if (rc != RC_OK) {
    copy_fail(env, w, rc, 0);
    return promise;
  }
  arena_map_t *m = find_map(p, s.arena_id);
  if (m != NULL) {
    start_copy(env, p, w, m);
    return promise;
  }
  bool requested = false;
  for (uint32_t i = 0; i < p->out_count; i++)
    if (p->outstanding[(p->out_head + i) % MAX_OUTSTANDING] == s.arena_id) requested = true;
  if (p->nwaiting >= MAX_WAITING || (!requested && !send_request(p, OP_GET_ARENA, s.arena_id))) {
    copy_fail(env, w, RC_CAPACITY, 0);
    return promise;
  }
  w->wait_arena = s.arena_id;
  w->next = p->waiting;
  p->waiting = w;
  p->nwaiting++;
  return promise;
}

static napi_value shm_read(napi_env env, napi_callback_info info) { return shm_method(env, info, false); }
static napi_value shm_write(napi_env env, napi_callback_info info) { return shm_method(env, info, true); }

static napi_value shm_close_js(napi_env env, napi_callback_info info) {
  shm_peer_t *p = unwrap_this(env, info, NULL, NULL);
  if (p != NULL) {
    peer_close(env, p);
    peer_maybe_free(p);
  }
  return NULL;
}

static void peer_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  shm_peer_t *p = data;
  if (p->self != NULL) napi_delete_reference(env, p->self);
  p->self = NULL;
  p->finalized = true;
  peer_close(env, p);
  peer_maybe_free(p);
}

/* shmAttach(path, maxArenas = 1024, asyncThreshold = 1 MiB) -> Promise<ShmPeer> */
napi_value js_shm_attach(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_string || napi_get_value_string_utf8(env, argv[0], addr.sun_path, sizeof addr.sun_path, &len) != napi_ok ||
      len == 0 || len >= sizeof addr.sun_path - 1)
    return throw_error(env, RC_INVAL, 0, "shmAttach(path): a socket path of 1 to %zu bytes", sizeof addr.sun_path - 2);
  uint32_t max_maps = DEFAULT_MAX_ARENAS;
  uint64_t threshold = DEFAULT_ASYNC_THRESHOLD;
  t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (t != napi_undefined && (!arg_u32(env, argv[1], &max_maps) || max_maps == 0))
    return throw_error(env, RC_INVAL, 0, "shmAttach: maxArenas must be a positive integer");
  t = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &t);
  if (t != napi_undefined && !arg_u64(env, argv[2], &threshold))
    return throw_error(env, RC_INVAL, 0, "shmAttach: asyncThreshold must be a byte count");

  napi_deferred deferred;
  napi_value promise;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) return NULL;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    napi_reject_deferred(env, deferred, make_error(env, rc_from_errno(errno), errno, "shmAttach: socket"));
    return promise;
  }
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int e = errno;
    close(fd);
    napi_reject_deferred(env, deferred,
                         make_error(env, e == EAGAIN ? RC_CAPACITY : rc_from_errno(e), e,
                                    "shmAttach: cannot connect to %s", addr.sun_path));
    return promise;
  }
  struct ucred cred;
  socklen_t clen = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || cred.uid != geteuid()) {
    close(fd);
    napi_reject_deferred(env, deferred,
                         make_error(env, RC_PERM, 0, "shmAttach: %s is served by another user", addr.sun_path));
    return promise;
  }
  addon_t *a = addon_of(env);
  shm_peer_t *p = calloc(1, sizeof *p);
  napi_value obj = new_instance(env, a->ctor_shm_peer);
  if (p == NULL || obj == NULL || (p->maps = calloc(max_maps, sizeof *p->maps)) == NULL) {
    free(p);
    close(fd);
    napi_reject_deferred(env, deferred, make_error(env, RC_CAPACITY, ENOMEM, "shmAttach"));
    return promise;
  }
  p->a = a;
  p->env = env;
  p->fd = fd;
  p->rfd = -1;
  p->pid = (uint32_t)cred.pid;
  p->max_maps = max_maps;
  p->owner.exec = shm_exec;
  p->owner.done = shm_done;
  p->owner.idle = peer_maybe_free;
  p->owner.peer = p;
  p->owner.async_threshold = (size_t)threshold;
  if (napi_wrap(env, obj, p, peer_finalize, NULL, NULL) != napi_ok) {
    free(p->maps);
    free(p);
    close(fd);
    napi_reject_deferred(env, deferred, make_error(env, RC_CAPACITY, 0, "shmAttach"));
    return promise;
  }
  napi_create_reference(env, obj, 1, &p->self);
  p->attach = deferred;
  set_prop(env, obj, "pid", make_u32(env, p->pid));
  p->next = a->peers;
  if (a->peers != NULL) a->peers->prev = p;
  a->peers = p;
  p->poll = poll_open(a->loop, fd, p, on_readable);
  p->handle_open = p->poll != NULL;
  if (!p->handle_open || !send_request(p, OP_GET_TABLE, 0)) disconnect(env, p, RC_IO, errno);
  return promise;
}

void shm_env_cleanup(addon_t *a) {
  shm_close_servers(a);
  while (a->peers != NULL) {
    shm_peer_t *p = a->peers;
    p->owner.closed = true;
    disconnect(a->env, p, RC_CLOSED, 0);
  }
}

napi_status shm_define_classes(napi_env env, napi_value *server_cls, napi_value *peer_cls) {
  napi_status s = shm_server_define_class(env, server_cls);
  if (s != napi_ok) return s;
  napi_property_descriptor props[] = {
    {"read", NULL, shm_read, NULL, NULL, NULL, napi_default, NULL},
    {"write", NULL, shm_write, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, shm_close_js, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_class(env, "ShmPeer", NAPI_AUTO_LENGTH, internal_ctor, NULL, 3, props, peer_cls);
}
