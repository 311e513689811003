/*
 * The registration table: this process' "memory region table", the same-host counterpart of a
 * NIC's MR table. It lives in a sealed memfd mapping so shm peers can map it read-only and cma
 * peers can read it with process_vm_readv at its address (table().addr).
 *
 * Layout: a 64-byte header (table_header_t), then `capacity` 64-byte slots (slot_t). A key is
 * (random bits << slot_bits) | slot, so a reader finds the slot from the key alone. Writers
 * (registering JS threads, under table_lock) use a seqlock: seq becomes odd, the fields change,
 * seq becomes even again; removal zeroes the key. Readers copy the slot, check it, copy the
 * data, then re-read seq: any change in between discards the data (ECHANGED).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "addon.h"

#define DEFAULT_CAPACITY 4096u
#define MIN_CAPACITY 16u
#define MAX_CAPACITY (1u << 20)

typedef struct region_s {
  uint32_t slot, key;
  uint64_t addr, length;
  uint32_t arena_id;
  uint64_t arena_off;
  bool live;       /* registered; cleared under table_lock */
  napi_ref target; /* keeps the registered memory alive */
} region_t;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *table_base;
static size_t table_bytes;
static int table_fd = -1;
static uint32_t table_capacity, slot_bits;
static uint32_t *free_slots, free_count;
static region_t **owners;
static uint32_t *last_keys; /* a slot's next key always differs from its previous one */
static uint64_t rng;

static slot_t *slot_at(uint32_t i) { return (slot_t *)(table_base + TABLE_HEADER + (size_t)i * SLOT_SIZE); }

const table_header_t *table_header(void) { return (const table_header_t *)table_base; }

static uint64_t next_random(void) {
  /* xorshift64*, seeded from getrandom: keys are hard to guess, not cryptographic secrets. */
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545F4914F6CDD1Dull;
}

int table_ensure(uint32_t capacity, int *fd_out) {
  pthread_mutex_lock(&table_lock);
  int rc = RC_OK, err = 0;
  if (table_base == NULL) {
    uint32_t cap = capacity == 0 ? DEFAULT_CAPACITY : capacity;
    if (cap < MIN_CAPACITY) cap = MIN_CAPACITY;
    if (cap > MAX_CAPACITY) cap = MAX_CAPACITY;
    uint32_t bits = 0;
    while ((1u << bits) < cap) bits++;
    cap = 1u << bits;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t bytes = (TABLE_HEADER + (size_t)cap * SLOT_SIZE + page - 1) / page * page;
    int fd = memfd_create("openclaw-ipc-table", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    void *base = MAP_FAILED;
    if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0 ||
        (base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
      err = errno;
      rc = rc_from_errno(err);
      if (fd >= 0) close(fd);
    } else {
      free_slots = malloc(sizeof *free_slots * cap);
      owners = calloc(cap, sizeof *owners);
      last_keys = calloc(cap, sizeof *last_keys);
      if (free_slots == NULL || owners == NULL || last_keys == NULL || getrandom(&rng, sizeof rng, 0) != sizeof rng) {
        free(free_slots);
        free(owners);
        free(last_keys);
        munmap(base, bytes);
        close(fd);
        rc = RC_CAPACITY;
      } else {
        rng |= 1;
        for (uint32_t i = 0; i < cap; i++) free_slots[i] = cap - 1 - i; /* slot 0 first */
        free_count = cap;
        table_header_t *h = base;
        h->magic = TABLE_MAGIC;
        h->version = TABLE_VERSION;
        h->capacity = cap;
        h->slot_size = SLOT_SIZE;
        h->pid = (uint32_t)getpid();
        h->self_addr = (uint64_t)(uintptr_t)base;
        table_base = base;
        table_bytes = bytes;
        table_fd = fd;
        table_capacity = cap;
        slot_bits = bits;
        ptracer_allow_any();
      }
    }
  }
  if (fd_out != NULL) *fd_out = table_fd;
  pthread_mutex_unlock(&table_lock);
  errno = err;
  return rc;
}

/* Writer side of the seqlock; the caller holds table_lock. A NULL region clears the slot. */
static void slot_publish(uint32_t i, const region_t *r, uint32_t access, uint64_t expires_ns) {
  slot_t *s = slot_at(i);
  volatile slot_t *v = s;
  uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
  atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  v->key = r != NULL ? r->key : 0;
  v->addr = r != NULL ? r->addr : 0;
  v->length = r != NULL ? r->length : 0;
  v->expires_ns = r != NULL ? expires_ns : 0;
  v->arena_off = r != NULL ? r->arena_off : 0;
  v->access = r != NULL ? access : 0;
  v->arena_id = r != NULL ? r->arena_id : 0;
  atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

/* Caller holds table_lock. */
static void region_unpublish(region_t *r) {
  if (!r->live) return;
  slot_publish(r->slot, NULL, 0, 0);
  owners[r->slot] = NULL;
  free_slots[free_count++] = r->slot;
  r->live = false;
}

void table_drop_arena(uint32_t arena_id) {
  pthread_mutex_lock(&table_lock);
  for (uint32_t i = 0; table_base != NULL && i < table_capacity; i++)
    if (owners[i] != NULL && owners[i]->arena_id == arena_id) region_unpublish(owners[i]);
  pthread_mutex_unlock(&table_lock);
}

int slot_snapshot(const slot_t *slot, slot_view_t *out) {
  const volatile slot_t *v = slot;
  uint64_t seq = atomic_load_explicit(&((slot_t *)slot)->seq, memory_order_acquire);
  if (seq & 1) return RC_CHANGED;
  out->seq = seq;
  out->addr = v->addr;
  out->length = v->length;
  out->expires_ns = v->expires_ns;
  out->arena_off = v->arena_off;
  out->key = v->key;
  out->access = v->access;
  out->arena_id = v->arena_id;
  atomic_thread_fence(memory_order_acquire);
  return RC_OK;
}

int slot_check(const slot_view_t *s, uint32_t key, uint64_t raddr, uint64_t len, uint32_t access) {
  if (s->seq & 1) return RC_CHANGED;
  if (key == 0 || s->key != key) return RC_KEY;
  if (s->expires_ns != 0 && monotonic_ns() >= s->expires_ns) return RC_EXPIRED;
  if ((s->access & access) != access) return RC_ACCES;
  if (raddr < s->addr || len > s->length || raddr - s->addr > s->length - len) return RC_RANGE;
  return RC_OK;
}

/* ------------------------------------------------------------------ JS */

/* table(capacity?) -> { pid, addr: bigint, capacity, fd, used }. The first call fixes the capacity. */
napi_value js_table(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint32_t cap = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_undefined && !arg_u32(env, argv[0], &cap))
    return throw_error(env, RC_INVAL, 0, "table: capacity must be a positive integer");
  int fd;
  int rc = table_ensure(cap, &fd);
  if (rc != RC_OK) return throw_error(env, rc, errno, "table: cannot create the registration table");
  napi_value out;
  napi_create_object(env, &out);
  pthread_mutex_lock(&table_lock);
  uint32_t used = table_capacity - free_count;
  pthread_mutex_unlock(&table_lock);
  set_prop(env, out, "pid", make_u32(env, (uint32_t)getpid()));
  set_prop(env, out, "addr", make_u64(env, (uint64_t)(uintptr_t)table_base));
  set_prop(env, out, "capacity", make_u32(env, table_capacity));
  set_prop(env, out, "fd", make_u32(env, (uint32_t)fd));
  set_prop(env, out, "used", make_u32(env, used));
  return out;
}

static void region_release(napi_env env, region_t *r) {
  pthread_mutex_lock(&table_lock);
  region_unpublish(r);
  pthread_mutex_unlock(&table_lock);
  if (r->target != NULL) {
    napi_delete_reference(env, r->target);
    r->target = NULL;
  }
}

static void region_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  region_t *r = data;
  region_release(env, r);
  free(r);
}

/*
 * register(bytes, access = READ, expiresNs = 0) -> Region { key, addr, length, arenaId,
 * arenaOffset, close(), live }. `bytes` inside an arena's buffer is readable over shm too.
 */
napi_value js_register(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint8_t *data;
  size_t len;
  if (argc < 1 || !arg_bytes(env, argv[0], &data, &len) || len == 0)
    return throw_error(env, RC_INVAL, 0, "register: expected a non-empty Uint8Array");
  uint32_t access = ACCESS_READ;
  uint64_t expires = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (t != napi_undefined && (!arg_u32(env, argv[1], &access) || access == 0 || (access & ~3u) != 0))
    return throw_error(env, RC_INVAL, 0, "register: access must be 1 (READ), 2 (WRITE) or 3");
  t = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &t);
  if (t != napi_undefined && !arg_u64(env, argv[2], &expires))
    return throw_error(env, RC_INVAL, 0, "register: expiresNs must be a CLOCK_MONOTONIC time (bigint) or 0");
  int rc = table_ensure(0, NULL);
  if (rc != RC_OK) return throw_error(env, rc, errno, "register: cannot create the registration table");

  region_t *r = calloc(1, sizeof *r);
  if (r == NULL) return throw_error(env, RC_CAPACITY, ENOMEM, "register");
  r->addr = (uint64_t)(uintptr_t)data;
  r->length = len;
  if (!arena_lookup(data, len, &r->arena_id, &r->arena_off)) r->arena_id = 0;
  napi_value obj = new_instance(env, addon_of(env)->ctor_region);
  if (obj == NULL || napi_create_reference(env, argv[0], 1, &r->target) != napi_ok) {
    free(r);
    return NULL;
  }
  pthread_mutex_lock(&table_lock);
  if (free_count == 0) {
    pthread_mutex_unlock(&table_lock);
    napi_delete_reference(env, r->target);
    free(r);
    return throw_error(env, RC_CAPACITY, 0, "register: the registration table is full (%u slots)", table_capacity);
  }
  r->slot = free_slots[--free_count];
  uint32_t old = last_keys[r->slot] >> slot_bits;
  uint32_t rbits = 32 - slot_bits, rnd;
  do rnd = (uint32_t)(next_random() >> 32) & (uint32_t)((1ull << rbits) - 1);
  while (rnd == 0 || rnd == old);
  r->key = (rnd << slot_bits) | r->slot;
  last_keys[r->slot] = r->key;
  r->live = true;
  owners[r->slot] = r;
  slot_publish(r->slot, r, access, expires);
  pthread_mutex_unlock(&table_lock);

  if (napi_wrap(env, obj, r, region_finalize, NULL, NULL) != napi_ok) {
    region_release(env, r);
    free(r);
    return NULL;
  }
  set_prop(env, obj, "key", make_u32(env, r->key));
  set_prop(env, obj, "addr", make_u64(env, r->addr));
  napi_value n;
  napi_create_double(env, (double)len, &n);
  set_prop(env, obj, "length", n);
  set_prop(env, obj, "arenaId", make_u32(env, r->arena_id));
  napi_create_double(env, (double)r->arena_off, &n);
  set_prop(env, obj, "arenaOffset", n);
  set_prop(env, obj, "access", make_u32(env, access));
  set_prop(env, obj, "expiresNs", make_u64(env, expires));
  return obj;
}

static napi_value region_close(napi_env env, napi_callback_info info) {
  region_t *r = unwrap_this(env, info, NULL, NULL);
  if (r == NULL) return NULL;
  region_release(env, r);
  return NULL;
}

static napi_value region_live(napi_env env, napi_callback_info info) {
  region_t *r = unwrap_this(env, info, NULL, NULL);
  if (r == NULL) return NULL;
  pthread_mutex_lock(&table_lock);
  bool live = r->live;
  pthread_mutex_unlock(&table_lock);
  napi_value out;
  napi_get_boolean(env, live, &out);
  return out;
}

napi_value internal_ctor(napi_env env, napi_callback_info info) {
  napi_value self;
  napi_get_cb_info(env, info, NULL, NULL, &self, NULL);
  return self;
}

napi_status region_define_class(napi_env env, napi_value *cls) {
  napi_property_descriptor props[] = {
    {"close", NULL, region_close, NULL, NULL, NULL, napi_default, NULL},
    {"live", NULL, NULL, region_live, NULL, NULL, napi_default, NULL},
  };
  return napi_define_class(env, "Region", NAPI_AUTO_LENGTH, internal_ctor, NULL, 2, props, cls);
}
