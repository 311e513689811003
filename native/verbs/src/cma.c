/*
 * cma provider: one-sided reads and writes of a peer process' registered memory with
 * process_vm_readv / process_vm_writev (Cross Memory Attach).
 *
 * Checked-slot protocol, per copy: read the peer's slot for the key (one process_vm_readv of
 * 64 bytes at table + 64 + slot * 64), check it (seq even, key, expiry, access, range), copy
 * the data (partial transfers looped), then re-read the slot's seq: if it moved, the copy
 * raced a deregistration and fails with ECHANGED (read data is to be discarded).
 *
 * Permissions: the kernel allows the copy when we may ptrace the peer (same uid and, under
 * Yama ptrace_scope 1, the peer called PR_SET_PTRACER: the table does so when created).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "copy.h"

#define CRC_CHUNK (256u * 1024u)
#define DEFAULT_ASYNC_THRESHOLD (1u << 20)

typedef struct cma_peer_s {
  copy_owner_t owner;
  pid_t pid;
  uint64_t table_addr;
  uint32_t capacity;
  bool finalized;
} cma_peer_t;

void ptracer_allow_any(void) {
  /* Yama (ptrace_scope 1) would refuse same-uid peers that are not our ancestors. */
  if (access("/proc/sys/kernel/yama/ptrace_scope", F_OK) == 0) prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
}

/* Copies len bytes of the peer at raddr into local (or back); returns 0 or an errno. */
static int vm_copy(pid_t pid, uint8_t *local, uint64_t raddr, size_t len, bool write) {
  while (len != 0) {
    struct iovec l = {local, len}, r = {(void *)(uintptr_t)raddr, len};
    ssize_t n = write ? process_vm_writev(pid, &l, 1, &r, 1, 0) : process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EFAULT;
    local += n;
    raddr += (uint64_t)n;
    len -= (size_t)n;
  }
  return 0;
}

static int read_slot(cma_peer_t *p, uint32_t key, slot_view_t *out) {
  slot_t raw;
  uint64_t at = p->table_addr + TABLE_HEADER + (uint64_t)(key & (p->capacity - 1)) * SLOT_SIZE;
  int e = vm_copy(p->pid, (uint8_t *)&raw, at, sizeof raw, false);
  if (e != 0) return e;
  out->seq = atomic_load_explicit(&raw.seq, memory_order_relaxed);
  out->addr = raw.addr;
  out->length = raw.length;
  out->expires_ns = raw.expires_ns;
  out->arena_off = raw.arena_off;
  out->key = raw.key;
  out->access = raw.access;
  out->arena_id = raw.arena_id;
  return 0;
}

static void cma_exec(void *peer, copy_req_t *r) {
  cma_peer_t *p = peer;
  slot_view_t s;
  int e = read_slot(p, r->key, &s);
  if (e != 0) {
    r->rc = rc_from_errno(e);
    r->sys_errno = e;
    return;
  }
  r->rc = slot_check(&s, r->key, r->raddr, r->len, r->write ? ACCESS_WRITE : ACCESS_READ);
  if (r->rc != RC_OK) return;
  uint32_t crc = 0;
  if (r->want_crc) {
    /* Copy a chunk, checksum it while it is in cache. */
    for (size_t done = 0; done < r->len && e == 0;) {
      size_t n = r->len - done < CRC_CHUNK ? r->len - done : CRC_CHUNK;
      e = vm_copy(p->pid, r->local + done, r->raddr + done, n, false);
      if (e == 0) crc = crc32c(crc, r->local + done, n);
      done += n;
    }
  } else {
    e = vm_copy(p->pid, r->local, r->raddr, r->len, r->write);
  }
  slot_view_t after;
  int e2 = read_slot(p, r->key, &after);
  if (e2 != 0) {
    r->rc = rc_from_errno(e2);
    r->sys_errno = e2;
  } else if (after.seq != s.seq) {
    r->rc = RC_CHANGED;
  } else if (e != 0) {
    r->rc = e == EFAULT ? RC_RANGE : rc_from_errno(e);
    r->sys_errno = e;
  } else {
    r->crc = crc;
  }
}

static void cma_free_if_done(void *peer) {
  cma_peer_t *p = peer;
  if (p->finalized && p->owner.pending == 0) free(p);
}

static void cma_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  cma_peer_t *p = data;
  copy_close(env, &p->owner);
  p->finalized = true;
  cma_free_if_done(p);
}

/* cmaPeer(pid, tableAddr, asyncThreshold = 1 MiB) -> CmaPeer. Reads and checks the peer's table header. */
napi_value js_cma_peer(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint32_t pid;
  uint64_t addr, threshold = DEFAULT_ASYNC_THRESHOLD;
  if (argc < 2 || !arg_u32(env, argv[0], &pid) || pid == 0 || !arg_u64(env, argv[1], &addr))
    return throw_error(env, RC_INVAL, 0, "cmaPeer(pid, tableAddr[, asyncThreshold]): bad arguments");
  napi_valuetype t = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &t);
  if (t != napi_undefined && !arg_u64(env, argv[2], &threshold))
    return throw_error(env, RC_INVAL, 0, "cmaPeer: asyncThreshold must be a byte count");
  table_header_t h;
  int e = vm_copy((pid_t)pid, (uint8_t *)&h, addr, sizeof h, false);
  if (e != 0)
    return throw_error(env, e == EFAULT ? RC_PROTO : rc_from_errno(e), e, "cmaPeer: cannot read the table of pid %u",
                       pid);
  if (h.magic != TABLE_MAGIC || h.version != TABLE_VERSION || h.slot_size != SLOT_SIZE || h.capacity == 0 ||
      (h.capacity & (h.capacity - 1)) != 0 || h.self_addr != addr)
    return throw_error(env, RC_PROTO, 0, "cmaPeer: no registration table at 0x%llx in pid %u",
                       (unsigned long long)addr, pid);
  cma_peer_t *p = calloc(1, sizeof *p);
  napi_value obj = new_instance(env, addon_of(env)->ctor_cma_peer);
  if (p == NULL || obj == NULL) {
    free(p);
    return throw_error(env, RC_CAPACITY, ENOMEM, "cmaPeer");
  }
  p->pid = (pid_t)pid;
  p->table_addr = addr;
  p->capacity = h.capacity;
  p->owner.exec = cma_exec;
  p->owner.idle = cma_free_if_done;
  p->owner.peer = p;
  p->owner.async_threshold = (size_t)threshold;
  if (napi_wrap(env, obj, p, cma_finalize, NULL, NULL) != napi_ok) {
    free(p);
    return NULL;
  }
  set_prop(env, obj, "pid", make_u32(env, pid));
  set_prop(env, obj, "capacity", make_u32(env, h.capacity));
  return obj;
}

static napi_value cma_method(napi_env env, napi_callback_info info, bool write, bool sync) {
  size_t argc = 6;
  napi_value argv[6];
  cma_peer_t *p = unwrap_this(env, info, &argc, argv);
  if (p == NULL) return NULL;
  if (sync) return copy_sync(env, &p->owner, argc, argv, write);
  napi_value promise;
  copy_work_t *w = copy_parse(env, &p->owner, argc, argv, write, &promise);
  if (w == NULL) return NULL;
  copy_run(env, w);
  return promise;
}

static napi_value cma_read(napi_env env, napi_callback_info info) { return cma_method(env, info, false, false); }
static napi_value cma_write(napi_env env, napi_callback_info info) { return cma_method(env, info, true, false); }
static napi_value cma_read_sync(napi_env env, napi_callback_info info) { return cma_method(env, info, false, true); }
static napi_value cma_write_sync(napi_env env, napi_callback_info info) { return cma_method(env, info, true, true); }

static napi_value cma_close(napi_env env, napi_callback_info info) {
  cma_peer_t *p = unwrap_this(env, info, NULL, NULL);
  if (p != NULL) copy_close(env, &p->owner);
  return NULL;
}

napi_status cma_define_class(napi_env env, napi_value *cls) {
  napi_property_descriptor props[] = {
    {"read", NULL, cma_read, NULL, NULL, NULL, napi_default, NULL},
    {"write", NULL, cma_write, NULL, NULL, NULL, napi_default, NULL},
    {"readSync", NULL, cma_read_sync, NULL, NULL, NULL, napi_default, NULL},
    {"writeSync", NULL, cma_write_sync, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, cma_close, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_class(env, "CmaPeer", NAPI_AUTO_LENGTH, internal_ctor, NULL, sizeof props / sizeof props[0],
                           props, cls);
}

/* peerCredentials(fd) -> { pid, uid, gid } of the process at the other end of a Unix socket. */
napi_value js_peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint32_t fd;
  if (argc < 1 || !arg_u32(env, argv[0], &fd) || fd > INT32_MAX)
    return throw_error(env, RC_INVAL, 0, "peerCredentials(fd): fd must be a file descriptor");
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt((int)fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    int e = errno;
    return throw_error(env, e == EBADF || e == ENOTSOCK || e == ENOPROTOOPT ? RC_INVAL : rc_from_errno(e), e,
                       "peerCredentials(%u)", fd);
  }
  napi_value out;
  napi_create_object(env, &out);
  set_prop(env, out, "pid", make_u32(env, (uint32_t)cred.pid));
  set_prop(env, out, "uid", make_u32(env, cred.uid));
  set_prop(env, out, "gid", make_u32(env, cred.gid));
  return out;
}
