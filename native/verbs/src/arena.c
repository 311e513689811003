/*
 * shm arenas: memfd memory mapped MAP_SHARED, handed to JS as an external Buffer. A peer that
 * asks the shm server for arena N gets a dup of its memfd (SCM_RIGHTS) and maps it too.
 * The memfd is sealed against shrinking, so a peer's mapping can never fault (SIGBUS).
 *
 * Lifetime: the arena is open, and mapped, as long as its Buffer lives (a registration keeps
 * the bytes it covers, hence the Buffer, alive); the Buffer's finalizer unmaps it. close()
 * closes it earlier: closes the fd, forgets the id, and deregisters every registration inside
 * the arena. Losing the Arena object alone changes nothing. Mappings peers already made stay theirs (OS-level access),
 * but our readers check the table and refuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addon.h"

#define MAX_ARENA_BYTES (1ull << 40)

typedef struct arena_s {
  uint32_t id;
  int fd;
  uint8_t *base;
  size_t size;
  bool open;
  int refs; /* the Buffer and the Arena object; under arena_lock */
  struct arena_s *next;
} arena_t;

static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static arena_t *arenas;
static uint32_t next_arena_id = 1;

bool arena_lookup(const uint8_t *p, size_t len, uint32_t *id, uint64_t *off) {
  bool found = false;
  pthread_mutex_lock(&arena_lock);
  for (arena_t *a = arenas; a != NULL; a = a->next) {
    if (p >= a->base && len <= a->size && (size_t)(p - a->base) <= a->size - len) {
      *id = a->id;
      *off = (uint64_t)(p - a->base);
      found = true;
      break;
    }
  }
  pthread_mutex_unlock(&arena_lock);
  return found;
}

int arena_dup_fd(uint32_t id) {
  int fd = -1;
  pthread_mutex_lock(&arena_lock);
  for (arena_t *a = arenas; a != NULL; a = a->next)
    if (a->id == id) {
      fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 0);
      break;
    }
  pthread_mutex_unlock(&arena_lock);
  return fd;
}

static void arena_unref(arena_t *a) {
  pthread_mutex_lock(&arena_lock);
  bool last = --a->refs == 0;
  pthread_mutex_unlock(&arena_lock);
  if (last) free(a);
}

static void arena_close(arena_t *a) {
  pthread_mutex_lock(&arena_lock);
  bool was_open = a->open;
  if (was_open) {
    a->open = false;
    for (arena_t **pp = &arenas; *pp != NULL; pp = &(*pp)->next)
      if (*pp == a) {
        *pp = a->next;
        break;
      }
    close(a->fd);
    a->fd = -1;
  }
  pthread_mutex_unlock(&arena_lock);
  if (was_open) table_drop_arena(a->id);
}

static void buffer_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  arena_t *a = hint;
  arena_close(a); /* the Buffer is gone: nothing can be registered in it any more */
  munmap(a->base, a->size);
  arena_unref(a);
}

static void arena_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  arena_unref(data); /* the Buffer may live on (and be registered): it keeps the arena open */
}

/* allocate(size) -> Arena { buffer, id, fd, size, close() } */
napi_value js_allocate(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint64_t want;
  if (argc < 1 || !arg_u64(env, argv[0], &want) || want == 0 || want > MAX_ARENA_BYTES)
    return throw_error(env, RC_INVAL, 0, "allocate: size must be between 1 byte and 1 TiB");
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t size = (size_t)((want + page - 1) / page * page);
  int fd = memfd_create("openclaw-ipc-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return throw_error(env, rc_from_errno(errno), errno, "allocate: memfd_create");
  void *base = MAP_FAILED;
  if (ftruncate(fd, (off_t)size) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0 ||
      (base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
    int e = errno;
    close(fd);
    return throw_error(env, rc_from_errno(e), e, "allocate: cannot map %zu bytes", size);
  }
  arena_t *a = calloc(1, sizeof *a);
  napi_value obj = new_instance(env, addon_of(env)->ctor_arena);
  if (a == NULL || obj == NULL) {
    free(a);
    munmap(base, size);
    close(fd);
    return throw_error(env, RC_CAPACITY, ENOMEM, "allocate");
  }
  a->fd = fd;
  a->base = base;
  a->size = size;
  a->open = true;
  a->refs = 1; /* the Buffer's */
  pthread_mutex_lock(&arena_lock);
  a->id = next_arena_id++;
  a->next = arenas;
  arenas = a;
  pthread_mutex_unlock(&arena_lock);
  napi_value buffer;
  if (napi_create_external_buffer(env, size, base, buffer_finalize, a, &buffer) != napi_ok) {
    arena_close(a);
    munmap(base, size);
    free(a);
    return NULL;
  }
  pthread_mutex_lock(&arena_lock);
  a->refs++; /* the Arena object's */
  pthread_mutex_unlock(&arena_lock);
  if (napi_wrap(env, obj, a, arena_finalize, NULL, NULL) != napi_ok) {
    arena_unref(a);
    return NULL;
  }
  set_prop(env, obj, "buffer", buffer);
  set_prop(env, obj, "id", make_u32(env, a->id));
  set_prop(env, obj, "fd", make_u32(env, (uint32_t)fd));
  napi_value n;
  napi_create_double(env, (double)size, &n);
  set_prop(env, obj, "size", n);
  return obj;
}

static napi_value arena_close_js(napi_env env, napi_callback_info info) {
  arena_t *a = unwrap_this(env, info, NULL, NULL);
  if (a == NULL) return NULL;
  arena_close(a);
  return NULL;
}

napi_status arena_define_class(napi_env env, napi_value *cls) {
  napi_property_descriptor props[] = {
    {"close", NULL, arena_close_js, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_class(env, "Arena", NAPI_AUTO_LENGTH, internal_ctor, NULL, 1, props, cls);
}
