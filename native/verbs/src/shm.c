/*
 * shm provider: peers map this process' registration table (read-only) and arenas, whose
 * memfds they fetch from an addon-owned Unix socket with SCM_RIGHTS (Node cannot pass fds).
 *
 * The fd socket (SOCK_STREAM, mode 0600, peers of our uid only, checked with SO_PEERCRED) is
 * polled with uv_poll on the JS thread, as are the clients' connections. Its protocol
 * (all integers little-endian, the host's order; both ends are on one host):
 *
 *   request  (16 bytes): u32 magic "OCSH", u16 version 1, u16 op, u32 arena_id, u32 zero
 *            op 1 = GET_TABLE (arena_id 0), op 2 = GET_ARENA
 *   response (24 bytes): u32 magic, u16 op, u16 status (0 or an rc), u32 arena_id, u32 pid,
 *            u64 size; with status 0 the fd rides along (SCM_RIGHTS).
 *
 * A malformed request gets a response with status EPROTO and the connection is closed; a
 * client that does not read its responses (send would block) is dropped. Nothing else is
 * buffered: a connection holds one partial request.
 *
 * Reads: the reader snapshots the slot in its mapping of the table, checks it, copies from its
 * mapping of the arena, re-reads seq (ECHANGED when it moved). An arena met for the first time
 * is fetched first (the read waits for the answer); mappings are cached, at most maxArenas,
 * the least recently used idle one evicted.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shm.h"

#define DEFAULT_MAX_CONNS 64u
#define BATCH 64

/* ------------------------------------------------------------------ poll handles */

poll_box_t *poll_open(uv_loop_t *loop, int fd, void *owner, uv_poll_cb cb) {
  poll_box_t *b = calloc(1, sizeof *b);
  if (b == NULL) return NULL;
  if (uv_poll_init(loop, &b->handle, fd) != 0) {
    free(b);
    return NULL;
  }
  b->handle.data = owner;
  b->owner = owner;
  if (uv_poll_start(&b->handle, UV_READABLE, cb) != 0) {
    uv_close((uv_handle_t *)&b->handle, (uv_close_cb)free);
    return NULL;
  }
  /* The control channel (a Node socket) keeps the loop alive, not these helpers. */
  uv_unref((uv_handle_t *)&b->handle);
  return b;
}

static void poll_closed(uv_handle_t *h) {
  poll_box_t *b = (poll_box_t *)h;
  if (b->closed != NULL) b->closed(b->owner);
  free(b);
}

void poll_close(poll_box_t *b, int fd, void (*closed)(void *owner)) {
  uv_poll_stop(&b->handle);
  if (fd >= 0) close(fd);
  b->closed = closed;
  uv_close((uv_handle_t *)&b->handle, poll_closed);
}

/* ------------------------------------------------------------------ server */

typedef struct shm_conn_s {
  struct shm_server_s *server;
  poll_box_t *poll;
  int fd;
  uint8_t buf[REQ_SIZE];
  size_t have;
  struct shm_conn_s *prev, *next;
} shm_conn_t;

typedef struct shm_server_s {
  addon_t *a;
  poll_box_t *poll;
  int fd;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  dev_t dev;
  ino_t ino;
  shm_conn_t *conns;
  uint32_t nconns, max_conns;
  bool closed, finalized;
  int handles; /* poll handles not yet closed (listener + connections) */
  struct shm_server_s *prev, *next;
  struct shm_server_s *next_live; /* all_servers: every env's open servers */
} shm_server_t;

/* Open servers of every env, for the exit handler. */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static shm_server_t *all_servers;
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

/* Unlinks s->path if it still names our socket (another server may have taken it since). */
static void unlink_own(const shm_server_t *s) {
  struct stat st;
  if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino) unlink(s->path);
}

/* process.exit() skips env cleanup hooks, but not atexit: no socket file outlives us. */
static void unlink_at_exit(void) {
  pthread_mutex_lock(&all_lock);
  for (shm_server_t *s = all_servers; s != NULL; s = s->next_live) unlink_own(s);
  pthread_mutex_unlock(&all_lock);
}

static void install_atexit(void) { atexit(unlink_at_exit); }

static void live_add(shm_server_t *s) {
  pthread_once(&atexit_once, install_atexit);
  pthread_mutex_lock(&all_lock);
  s->next_live = all_servers;
  all_servers = s;
  pthread_mutex_unlock(&all_lock);
}

static void live_remove(shm_server_t *s) {
  pthread_mutex_lock(&all_lock);
  for (shm_server_t **pp = &all_servers; *pp != NULL; pp = &(*pp)->next_live)
    if (*pp == s) {
      *pp = s->next_live;
      break;
    }
  pthread_mutex_unlock(&all_lock);
}

static void server_maybe_free(shm_server_t *s) {
  if (s->finalized && s->closed && s->handles == 0) free(s);
}

static void conn_closed(void *owner) {
  shm_conn_t *c = owner;
  shm_server_t *s = c->server;
  free(c);
  s->handles--;
  server_maybe_free(s);
}

static void conn_close(shm_conn_t *c) {
  shm_server_t *s = c->server;
  if (c->prev != NULL) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  s->nconns--;
  poll_close(c->poll, c->fd, conn_closed);
}

/* Sends one response (with fd >= 0 attached); false when it could not go out whole. */
static bool send_response(int sock, const shm_response_t *r, int fd) {
  struct iovec iov = {(void *)r, sizeof *r};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } ctl;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    memset(&ctl, 0, sizeof ctl);
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof ctl.buf;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  }
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)sizeof *r;
}

/* Answers one complete request; false when the connection must be closed. */
static bool serve_request(shm_conn_t *c) {
  shm_request_t q;
  memcpy(&q, c->buf, sizeof q);
  shm_response_t r = {.magic = SHM_MAGIC, .op = q.op, .arena_id = q.arena_id, .pid = (uint32_t)getpid()};
  bool valid = q.magic == SHM_MAGIC && q.version == SHM_VERSION && q.zero == 0 &&
               ((q.op == OP_GET_TABLE && q.arena_id == 0) || (q.op == OP_GET_ARENA && q.arena_id != 0));
  if (!valid) {
    r.status = RC_PROTO;
    send_response(c->fd, &r, -1);
    return false;
  }
  int fd = -1;
  bool owned = false;
  if (q.op == OP_GET_TABLE) {
    if (table_ensure(0, &fd) != RC_OK) fd = -1;
  } else {
    fd = arena_dup_fd(q.arena_id);
    owned = true;
  }
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    r.status = q.op == OP_GET_TABLE ? RC_IO : RC_KEY; /* an arena closed or never made */
    if (owned && fd >= 0) close(fd);
    return send_response(c->fd, &r, -1);
  }
  r.size = (uint64_t)st.st_size;
  bool sent = send_response(c->fd, &r, fd);
  if (owned) close(fd);
  return sent;
}

static void on_conn_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  shm_conn_t *c = h->data;
  if (status < 0) {
    conn_close(c);
    return;
  }
  for (int i = 0; i < BATCH; i++) {
    ssize_t n = recv(c->fd, c->buf + c->have, REQ_SIZE - c->have, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      conn_close(c);
      return;
    }
    c->have += (size_t)n;
    if (c->have < REQ_SIZE) continue;
    c->have = 0;
    if (!serve_request(c)) {
      conn_close(c);
      return;
    }
  }
}

static void accept_one(shm_server_t *s, int fd) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != geteuid() ||
      s->nconns >= s->max_conns) {
    close(fd);
    return;
  }
  shm_conn_t *c = calloc(1, sizeof *c);
  if (c == NULL) {
    close(fd);
    return;
  }
  c->server = s;
  c->fd = fd;
  c->poll = poll_open(s->a->loop, fd, c, on_conn_readable);
  if (c->poll == NULL) {
    close(fd);
    free(c);
    return;
  }
  s->handles++;
  s->nconns++;
  c->next = s->conns;
  if (s->conns != NULL) s->conns->prev = c;
  s->conns = c;
}

static void on_listen_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  shm_server_t *s = h->data;
  if (status < 0 || s->closed) return;
  for (int i = 0; i < BATCH; i++) {
    int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN, or a transient error (EMFILE...): try on the next wakeup */
    accept_one(s, fd);
  }
}

static void listener_closed(void *owner) {
  shm_server_t *s = owner;
  s->handles--;
  server_maybe_free(s);
}

static void server_close(shm_server_t *s) {
  if (s->closed) return;
  s->closed = true;
  live_remove(s);
  unlink_own(s);
  poll_close(s->poll, s->fd, listener_closed);
  while (s->conns != NULL) conn_close(s->conns);
  addon_t *a = s->a;
  if (s->prev != NULL) s->prev->next = s->next;
  else if (a->servers == s) a->servers = s->next;
  if (s->next != NULL) s->next->prev = s->prev;
  s->prev = s->next = NULL;
}

static void server_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  shm_server_t *s = data;
  server_close(s);
  s->finalized = true;
  server_maybe_free(s);
}

/* Binds path; a stale socket (nobody accepting) is replaced. Returns the fd or -errno. */
static int bind_socket(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, path, strlen(path) + 1);
  for (int attempt = 0; attempt < 2; attempt++) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
      if (chmod(path, 0600) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return -e;
      }
      return fd;
    }
    int e = errno;
    close(fd);
    if (e != EADDRINUSE || attempt > 0) return -e;
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return -errno;
    int r = connect(probe, (struct sockaddr *)&addr, sizeof addr);
    int pe = errno;
    close(probe);
    if (r == 0 || pe != ECONNREFUSED) return -EADDRINUSE;
    unlink(path); /* stale */
  }
  return -EADDRINUSE;
}

/* shmServe(path, maxConnections = 64) -> ShmServer { path, close() } */
napi_value js_shm_serve(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  addon_t *a = addon_of(env);
  shm_server_t *s = calloc(1, sizeof *s);
  if (s == NULL) return throw_error(env, RC_CAPACITY, ENOMEM, "shmServe");
  size_t len = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_string || napi_get_value_string_utf8(env, argv[0], s->path, sizeof s->path, &len) != napi_ok ||
      len == 0 || len >= sizeof s->path - 1) {
    free(s);
    return throw_error(env, RC_INVAL, 0, "shmServe(path): a socket path of 1 to %zu bytes", sizeof s->path - 2);
  }
  s->max_conns = DEFAULT_MAX_CONNS;
  t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (t != napi_undefined && (!arg_u32(env, argv[1], &s->max_conns) || s->max_conns == 0)) {
    free(s);
    return throw_error(env, RC_INVAL, 0, "shmServe: maxConnections must be a positive integer");
  }
  int fd;
  if (table_ensure(0, &fd) != RC_OK) {
    int e = errno;
    free(s);
    return throw_error(env, RC_CAPACITY, e, "shmServe: no registration table");
  }
  s->fd = bind_socket(s->path);
  if (s->fd < 0) {
    int e = -s->fd;
    throw_error(env, e == EADDRINUSE ? RC_IO : rc_from_errno(e), e, "shmServe: cannot listen on %s", s->path);
    free(s);
    return NULL;
  }
  struct stat st;
  if (stat(s->path, &st) == 0) {
    s->dev = st.st_dev;
    s->ino = st.st_ino;
  }
  s->a = a;
  s->poll = poll_open(a->loop, s->fd, s, on_listen_readable);
  napi_value obj = new_instance(env, a->ctor_shm_server);
  if (s->poll == NULL || obj == NULL || napi_wrap(env, obj, s, server_finalize, NULL, NULL) != napi_ok) {
    if (s->poll != NULL) {
      s->handles = 1;
      s->finalized = true;
      server_close(s); /* frees s once the handle closed */
    } else {
      close(s->fd);
      unlink(s->path);
      free(s);
    }
    return throw_error(env, RC_IO, 0, "shmServe: cannot poll the socket");
  }
  s->handles = 1;
  live_add(s);
  s->next = a->servers;
  if (a->servers != NULL) a->servers->prev = s;
  a->servers = s;
  napi_value p;
  napi_create_string_utf8(env, s->path, NAPI_AUTO_LENGTH, &p);
  set_prop(env, obj, "path", p);
  return obj;
}

static napi_value server_close_js(napi_env env, napi_callback_info info) {
  shm_server_t *s = unwrap_this(env, info, NULL, NULL);
  if (s != NULL) server_close(s);
  return NULL;
}

void shm_close_servers(addon_t *a) {
  while (a->servers != NULL) server_close(a->servers);
}

napi_status shm_server_define_class(napi_env env, napi_value *cls) {
  napi_property_descriptor props[] = {
    {"close", NULL, server_close_js, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_class(env, "ShmServer", NAPI_AUTO_LENGTH, internal_ctor, NULL, 1, props, cls);
}
