/*
 * Receive buffers for large rendezvous reads: `receiveBuffer(size) -> Buffer`.
 *
 * A fresh `Buffer.allocUnsafe(64 MiB)` is a new anonymous mapping whose 16384 pages fault one
 * by one while the read copies into it (the kernel zeroes each), and whose unmapping later
 * costs again; measured, that was most of the client CPU of a 64 MiB RPC round trip. Here:
 *
 * - the mapping is anonymous, private, rounded up to 2 MiB and 2 MiB-aligned, and populated
 *   before it is handed out (MADV_POPULATE_WRITE, one call instead of a fault a page; else one
 *   touch a page). (MADV_HUGEPAGE was tried: with THP defrag "madvise" a miss stalled in
 *   compaction, 90 ms for 64 MiB, so it is not asked for.)
 * - when its Buffer is garbage-collected the mapping goes to a process-wide cache instead of
 *   being unmapped, bounded by `receiveCacheLimit` bytes (default 256 MiB; 0 disables it); a
 *   later receiveBuffer of a size it fits (at most twice the size asked) takes it back, already
 *   populated. Mappings over the limit are unmapped. The cache is shared by every env of the
 *   process (a mutex guards it) and is trimmed when the limit is lowered. The mapping's size
 *   is reported to V8 (napi_adjust_external_memory) so that garbage collection, hence reuse,
 *   keeps up with large receives.
 *
 * The bytes of a reused buffer are those of an earlier message of this process (like
 * Buffer.allocUnsafe): the caller overwrites all of them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addon.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define HUGE_ALIGN (2u * 1024u * 1024u)
#define MAX_RECEIVE_BYTES (1ull << 40)
#define DEFAULT_CACHE_LIMIT (256ull * 1024 * 1024)

typedef struct recv_map_s {
  uint8_t *base;
  size_t size;
  struct recv_map_s *next;
} recv_map_t;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static recv_map_t *cache;
static uint64_t cache_bytes;
static uint64_t cache_limit = DEFAULT_CACHE_LIMIT;
static uint64_t stat_hits, stat_misses;

static void unmap(recv_map_t *m) {
  munmap(m->base, m->size);
  free(m);
}

/* A populated, 2 MiB-aligned anonymous mapping of `size` bytes (a multiple of HUGE_ALIGN). */
static recv_map_t *map_new(size_t size) {
  recv_map_t *m = malloc(sizeof *m);
  if (m == NULL) return NULL;
  size_t span = size + HUGE_ALIGN;
  uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    free(m);
    return NULL;
  }
  uint8_t *base = (uint8_t *)(((uintptr_t)raw + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
  if (base > raw) munmap(raw, (size_t)(base - raw));
  size_t tail = (size_t)(raw + span - (base + size));
  if (tail > 0) munmap(base + size, tail);
  if (madvise(base, size, MADV_POPULATE_WRITE) != 0) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t off = 0; off < size; off += page) ((volatile uint8_t *)base)[off] = 0;
  }
  m->base = base;
  m->size = size;
  m->next = NULL;
  return m;
}

/* A cached mapping of at least `size` bytes and at most twice that, or NULL. */
static recv_map_t *cache_take(size_t size) {
  recv_map_t *found = NULL;
  pthread_mutex_lock(&cache_lock);
  for (recv_map_t **pp = &cache; *pp != NULL; pp = &(*pp)->next) {
    recv_map_t *m = *pp;
    if (m->size >= size && m->size / 2 <= size) {
      *pp = m->next;
      cache_bytes -= m->size;
      found = m;
      break;
    }
  }
  if (found) stat_hits++;
  else stat_misses++;
  pthread_mutex_unlock(&cache_lock);
  return found;
}

static void recv_finalize(napi_env env, void *data, void *hint) {
  (void)data;
  recv_map_t *m = hint;
  int64_t adjusted;
  napi_adjust_external_memory(env, -(int64_t)m->size, &adjusted);
  pthread_mutex_lock(&cache_lock);
  bool keep = cache_bytes + m->size <= cache_limit;
  if (keep) {
    m->next = cache;
    cache = m;
    cache_bytes += m->size;
  }
  pthread_mutex_unlock(&cache_lock);
  if (!keep) unmap(m);
}

/* receiveBuffer(size) -> Buffer of `size` bytes (1 byte .. 1 TiB), contents unspecified. */
napi_value js_receive_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint64_t want;
  if (argc < 1 || !arg_u64(env, argv[0], &want) || want == 0 || want > MAX_RECEIVE_BYTES)
    return throw_error(env, RC_INVAL, 0, "receiveBuffer: size must be between 1 byte and 1 TiB");
  size_t size = (size_t)((want + HUGE_ALIGN - 1) / HUGE_ALIGN * HUGE_ALIGN);
  recv_map_t *m = cache_take(size);
  if (m == NULL) m = map_new(size);
  if (m == NULL) return throw_error(env, RC_CAPACITY, errno, "receiveBuffer: cannot map %zu bytes", size);
  napi_value buffer;
  if (napi_create_external_buffer(env, (size_t)want, m->base, recv_finalize, m, &buffer) != napi_ok) {
    unmap(m);
    return NULL;
  }
  int64_t adjusted;
  napi_adjust_external_memory(env, (int64_t)m->size, &adjusted);
  return buffer;
}

/* receiveCache(limit?) -> { limit, bytes, buffers, hits, misses }; a limit sets it (bytes) and
 * unmaps cached mappings over it. */
napi_value js_receive_cache(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  uint64_t limit = 0;
  if (t != napi_undefined && !arg_u64(env, argv[0], &limit))
    return throw_error(env, RC_INVAL, 0, "receiveCache: the limit must be a number of bytes >= 0");
  recv_map_t *drop = NULL;
  pthread_mutex_lock(&cache_lock);
  if (t != napi_undefined) {
    cache_limit = limit;
    while (cache != NULL && cache_bytes > cache_limit) {
      recv_map_t *m = cache;
      cache = m->next;
      cache_bytes -= m->size;
      m->next = drop;
      drop = m;
    }
  }
  uint32_t buffers = 0;
  for (recv_map_t *m = cache; m != NULL; m = m->next) buffers++;
  double v[5] = {(double)cache_limit, (double)cache_bytes, (double)buffers, (double)stat_hits, (double)stat_misses};
  pthread_mutex_unlock(&cache_lock);
  while (drop != NULL) {
    recv_map_t *next = drop->next;
    unmap(drop);
    drop = next;
  }
  napi_value obj, n;
  napi_create_object(env, &obj);
  const char *names[5] = {"limit", "bytes", "buffers", "hits", "misses"};
  for (int i = 0; i < 5; i++) {
    napi_create_double(env, v[i], &n);
    set_prop(env, obj, names[i], n);
  }
  return obj;
}
