/*
 * openclaw-ipc verbs addon: shared declarations of the same-host core (registration table,
 * cma and shm providers, crc32c). The verbs provider (verbs*.c: ibverbs and rdma_cm, opened
 * with dlopen) plugs in through verbs_js_init (weak here, defined there), so the addon also
 * builds without it.
 *
 * Threading contract:
 * - every JS-visible function runs on the JS thread; none blocks on I/O (sockets are
 *   non-blocking and polled with uv_poll on the JS thread);
 * - large copies run as napi_async_work on the thread pool: they are memory copies
 *   (memcpy or process_vm_readv/writev), never waits on a peer;
 * - the registration table is process-wide, written under table_lock by whichever JS thread
 *   registers, and read lock-free by peers through its seqlock.
 */
#ifndef OPENCLAW_VERBS_ADDON_H
#define OPENCLAW_VERBS_ADDON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <node_api.h>

#include "uv_compat.h"

/* ------------------------------------------------------------------ errors */

/* Stable error codes; JS sees the name (err.code), packages/rdma maps it to an IpcError. */
enum rc {
  RC_OK = 0,
  RC_KEY,      /* "EKEY": no registration with this key */
  RC_RANGE,    /* "ERANGE": outside the registered range */
  RC_ACCES,    /* "EACCES": the registration does not allow this access */
  RC_EXPIRED,  /* "EEXPIRED": the registration expired */
  RC_CHANGED,  /* "ECHANGED": the registration changed during the copy (data discarded) */
  RC_PERM,     /* "EPERM": the OS refused access to the peer (ptrace rules, uid) */
  RC_SRCH,     /* "ESRCH": the peer process is gone */
  RC_CLOSED,   /* "ECLOSED": the handle or connection was closed */
  RC_INVAL,    /* "EINVAL": bad argument */
  RC_NOSYS,    /* "ENOSYS": the kernel lacks the system call */
  RC_PROTO,    /* "EPROTO": the peer broke the fd-socket protocol or the table format */
  RC_IO,       /* "EIO": another OS error (message says which) */
  RC_NOTSHM,   /* "ENOTSHM": the registration is not inside a shared arena */
  RC_CAPACITY, /* "ECAPACITY": table full, too many connections or mappings */
  RC_COUNT
};

const char *rc_name(int rc);
/* An Error with .code = rc_name(rc) and, when sys_errno != 0, .errno. */
napi_value make_error(napi_env env, int rc, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Throws make_error(...) and returns NULL (for `return throw_error(...)`). */
napi_value throw_error(napi_env env, int rc, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The rc for an errno of process_vm_readv/writev or a socket call. */
int rc_from_errno(int e);

/* ------------------------------------------------------------------ argument helpers */

bool arg_u64(napi_env env, napi_value v, uint64_t *out); /* number or bigint, >= 0 */
bool arg_u32(napi_env env, napi_value v, uint32_t *out);
/* Data pointer and length of a TypedArray, DataView or ArrayBuffer. */
bool arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len);
napi_value make_u64(napi_env env, uint64_t v); /* bigint */
napi_value make_u32(napi_env env, uint32_t v);
void set_prop(napi_env env, napi_value obj, const char *name, napi_value v);
uint64_t monotonic_ns(void);

/* ------------------------------------------------------------------ per-env state */

typedef struct addon_s {
  napi_env env;
  uv_loop_t *loop;
  napi_ref resource; /* with async_ctx: the callback scope of JS work started from libuv callbacks */
  napi_async_context async_ctx;
  napi_ref ctor_region, ctor_arena, ctor_cma_peer, ctor_shm_server, ctor_shm_peer;
  struct shm_server_s *servers; /* live servers of this env */
  struct shm_peer_s *peers;     /* live shm peers of this env */
  bool tearing_down;
} addon_t;

addon_t *addon_of(napi_env env);
/* A new instance of one of the internal classes (constructor ref), or NULL. */
napi_value new_instance(napi_env env, napi_ref ctor);
/* The constructor of the internal classes: JS cannot make working instances. */
napi_value internal_ctor(napi_env env, napi_callback_info info);
/* napi_unwrap of `this`; throws EINVAL and returns NULL on a foreign object. */
void *unwrap_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv);

/* ------------------------------------------------------------------ registration table */

#define TABLE_MAGIC 0x5443434fu /* "OCCT" */
#define TABLE_VERSION 1u
#define TABLE_HEADER 64u
#define SLOT_SIZE 64u
#define ACCESS_READ 1u
#define ACCESS_WRITE 2u

/* The table header at offset 0 of the memfd; slots follow at TABLE_HEADER. */
typedef struct {
  uint32_t magic, version, capacity, slot_size;
  uint32_t pid, reserved0;
  uint64_t self_addr; /* where the owner mapped the table (for cma readers) */
  uint8_t pad[32];
} table_header_t;

/* One registration. Writers: seq odd while changing, bumped twice on every change. */
typedef struct {
  _Atomic uint64_t seq;
  uint64_t addr;       /* the owner's virtual address of the first byte */
  uint64_t length;
  uint64_t expires_ns; /* CLOCK_MONOTONIC; 0 = never */
  uint64_t arena_off;  /* offset of addr inside the arena (arena_id != 0) */
  uint32_t key;        /* 0 = free */
  uint32_t access;     /* ACCESS_READ | ACCESS_WRITE */
  uint32_t arena_id;   /* 0: plain process memory (cma only) */
  uint32_t reserved;
  uint64_t reserved2;
} slot_t;

_Static_assert(sizeof(table_header_t) == TABLE_HEADER, "table header is 64 bytes");
_Static_assert(sizeof(slot_t) == SLOT_SIZE, "slot is 64 bytes");

/* A consistent copy of a slot's fields, taken by a reader. */
typedef struct {
  uint64_t seq, addr, length, expires_ns, arena_off;
  uint32_t key, access, arena_id;
} slot_view_t;

/* Checks a slot view against a request; RC_OK when the copy may go ahead. */
int slot_check(const slot_view_t *s, uint32_t key, uint64_t raddr, uint64_t len, uint32_t access);
/* Copies a slot living in this address space (shm readers); RC_CHANGED while it is odd. */
int slot_snapshot(const slot_t *slot, slot_view_t *out);
/* The table's memfd and capacity, created on first use (capacity 0 = default 4096). */
int table_ensure(uint32_t capacity, int *fd_out);
const table_header_t *table_header(void);

napi_value js_table(napi_env env, napi_callback_info info);
napi_value js_register(napi_env env, napi_callback_info info);
napi_value js_monotonic_ns(napi_env env, napi_callback_info info);
napi_status region_define_class(napi_env env, napi_value *cls);
/* Deregisters every registration inside arena `arena_id` (arena closed). */
void table_drop_arena(uint32_t arena_id);

/* ------------------------------------------------------------------ arenas (shm) */

/* Finds the arena that holds [p, p+len): its id and the offset of p; false if none. */
bool arena_lookup(const uint8_t *p, size_t len, uint32_t *id, uint64_t *off);
/* A dup of the memfd of arena `id`, or -1 (closed or unknown). */
int arena_dup_fd(uint32_t id);
napi_value js_allocate(napi_env env, napi_callback_info info);
napi_status arena_define_class(napi_env env, napi_value *cls);

napi_value js_cma_peer(napi_env env, napi_callback_info info);
napi_status cma_define_class(napi_env env, napi_value *cls);
napi_value js_peer_credentials(napi_env env, napi_callback_info info);
void ptracer_allow_any(void);

napi_value js_shm_serve(napi_env env, napi_callback_info info);
napi_value js_shm_attach(napi_env env, napi_callback_info info);
napi_status shm_define_classes(napi_env env, napi_value *server_cls, napi_value *peer_cls);
void shm_env_cleanup(addon_t *a);

/* ------------------------------------------------------------------ crc32c */

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
/* Copies len bytes from src to dst and returns the CRC32C of them, in one pass (SSE4.2: three streams). */
uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len);
bool crc32c_hardware(void);
napi_value js_crc32c(napi_env env, napi_callback_info info);
napi_value js_crc32c_copy(napi_env env, napi_callback_info info);

/* ------------------------------------------------------------------ receive buffers (recvbuf.c) */

napi_value js_receive_buffer(napi_env env, napi_callback_info info);
napi_value js_receive_cache(napi_env env, napi_callback_info info);

/* ------------------------------------------------------------------ the verbs provider */

/* Defined (strong) by verbs_js.c when the verbs provider is compiled in; adds exports.verbs.
 * addon.c declares it weak, so the addon links and loads without it. */
napi_value verbs_js_init(napi_env env, napi_value exports);

#endif
