/*
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), check value 0xE3069283 for "123456789".
 *
 * On x86-64 with SSE4.2 (detected at run time) the crc32 instruction runs three independent
 * streams over consecutive blocks, so its 3-cycle latency is hidden; the three partial CRCs are
 * joined by "shift by n zero bytes" operators precomputed as 4x256 tables (the GF(2) matrix
 * method of zlib's crc32_combine). Elsewhere: slicing-by-8 tables.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"

#if defined(__x86_64__)
#include <emmintrin.h>
#include <nmmintrin.h>
#endif

#define POLY 0x82F63B78u
#define LONG_BLOCK 8192u
#define SHORT_BLOCK 256u

static uint32_t sw_table[8][256];
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static bool have_hw;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
  uint32_t sum = 0;
  for (int i = 0; vec != 0; i++, vec >>= 1)
    if (vec & 1) sum ^= mat[i];
  return sum;
}

/* out = a after b (both operators on the 32-bit CRC register). */
static void gf2_compose(uint32_t *out, const uint32_t *a, const uint32_t *b) {
  uint32_t tmp[32];
  for (int i = 0; i < 32; i++) tmp[i] = gf2_times(a, b[i]);
  memcpy(out, tmp, sizeof tmp);
}

/* The operator that appends `len` zero bytes to a raw (unconditioned) CRC register. */
static void zeros_operator(uint32_t *op, size_t len) {
  uint32_t bit[32], base[32];
  bit[0] = POLY; /* one zero bit: shift right, fold the polynomial in when bit 0 was set */
  for (int i = 1; i < 32; i++) bit[i] = 1u << (i - 1);
  gf2_compose(base, bit, bit);   /* 2 bits */
  gf2_compose(base, base, base); /* 4 bits */
  gf2_compose(base, base, base); /* 8 bits = one byte */
  for (int i = 0; i < 32; i++) op[i] = 1u << i;
  while (len != 0) {
    if (len & 1) gf2_compose(op, base, op);
    gf2_compose(base, base, base);
    len >>= 1;
  }
}

static void shift_table(uint32_t table[4][256], size_t len) {
  uint32_t op[32];
  zeros_operator(op, len);
  for (int k = 0; k < 4; k++)
    for (uint32_t b = 0; b < 256; b++) table[k][b] = gf2_times(op, b << (8 * k));
}

static inline uint32_t shift(uint32_t table[4][256], uint32_t crc) {
  return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^
         table[3][crc >> 24];
}

static void init_tables(void) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
    sw_table[0][n] = c;
  }
  for (uint32_t n = 0; n < 256; n++)
    for (int k = 1; k < 8; k++) sw_table[k][n] = (sw_table[k - 1][n] >> 8) ^ sw_table[0][sw_table[k - 1][n] & 0xff];
  shift_table(shift_long, LONG_BLOCK);
  shift_table(shift_short, SHORT_BLOCK);
#if defined(__x86_64__)
  __builtin_cpu_init();
  /* OPENCLAW_IPC_CRC32C_PORTABLE=1 forces the table code (tests run both paths). */
  const char *portable = getenv("OPENCLAW_IPC_CRC32C_PORTABLE");
  have_hw = __builtin_cpu_supports("sse4.2") && (portable == NULL || portable[0] != '1');
#endif
}

static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t len) {
  while (len != 0 && ((uintptr_t)p & 7) != 0) {
    crc = (crc >> 8) ^ sw_table[0][(crc ^ *p++) & 0xff];
    len--;
  }
  while (len >= 8) {
    uint64_t v = load64(p) ^ crc;
    crc = sw_table[7][v & 0xff] ^ sw_table[6][(v >> 8) & 0xff] ^ sw_table[5][(v >> 16) & 0xff] ^
          sw_table[4][(v >> 24) & 0xff] ^ sw_table[3][(v >> 32) & 0xff] ^ sw_table[2][(v >> 40) & 0xff] ^
          sw_table[1][(v >> 48) & 0xff] ^ sw_table[0][v >> 56];
    p += 8;
    len -= 8;
  }
  while (len-- != 0) crc = (crc >> 8) ^ sw_table[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__)
/* Three streams of `block` bytes each, joined with `table` (shift by `block` bytes). */
#define THREE_STREAMS(block, table)                                                                \
  while (len >= 3 * (block)) {                                                                     \
    uint64_t c1 = 0, c2 = 0;                                                                       \
    const uint8_t *end = p + (block);                                                              \
    do {                                                                                           \
      c0 = _mm_crc32_u64(c0, load64(p));                                                           \
      c1 = _mm_crc32_u64(c1, load64(p + (block)));                                                 \
      c2 = _mm_crc32_u64(c2, load64(p + 2 * (block)));                                             \
      p += 8;                                                                                      \
    } while (p < end);                                                                             \
    c0 = shift(table, (uint32_t)c0) ^ (uint32_t)c1;                                                \
    c0 = shift(table, (uint32_t)c0) ^ (uint32_t)c2;                                                \
    p += 2 * (block);                                                                              \
    len -= 3 * (block);                                                                            \
  }

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t len) {
  uint64_t c0 = crc;
  while (len != 0 && ((uintptr_t)p & 7) != 0) {
    c0 = _mm_crc32_u8((uint32_t)c0, *p++);
    len--;
  }
  THREE_STREAMS(LONG_BLOCK, shift_long)
  THREE_STREAMS(SHORT_BLOCK, shift_short)
  while (len >= 8) {
    c0 = _mm_crc32_u64(c0, load64(p));
    p += 8;
    len -= 8;
  }
  while (len-- != 0) c0 = _mm_crc32_u8((uint32_t)c0, *p++);
  return (uint32_t)c0;
}
#endif

uint32_t crc32c(uint32_t crc, const void *buf, size_t len) {
  pthread_once(&once, init_tables);
  crc = ~crc;
#if defined(__x86_64__)
  if (have_hw) return ~crc_hw(crc, buf, len);
#endif
  return ~crc_sw(crc, buf, len);
}

bool crc32c_hardware(void) {
  pthread_once(&once, init_tables);
  return have_hw;
}

#if defined(__x86_64__)
static inline void store64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/*
 * From this size on, the copy writes around the caches (streaming stores, as glibc's memcpy does
 * for copies larger than its non-temporal threshold): a destination that big does not stay in
 * cache anyway, and ordinary stores would first read every destination line in (a third pass
 * over memory). Below it, the copy is likely read soon and plain stores keep it in cache.
 */
#define NON_TEMPORAL_FROM (4u << 20)

/* Copies one 64-byte line around the caches, whole (four 16-byte streaming stores in a row).
 * Streaming stores interleaved with loads from the other streams crawled (a line at a time in
 * write-combining buffers, flushed half full): the copy runs after the checksum of a block.
 * The four loads come before the four stores: a load issued after a store to an address equal to
 * it in the low 12 bits waits for that store (4K aliasing), which a destination a few bytes past
 * the source modulo 4 KiB would hit on every line. */
__attribute__((target("sse4.2"))) static inline void stream_line(uint8_t *d, const uint8_t *s) {
  __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)s);
  __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
  __m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(s + 32));
  __m128i v3 = _mm_loadu_si128((const __m128i *)(const void *)(s + 48));
  _mm_stream_si128((__m128i *)(void *)d, v0);
  _mm_stream_si128((__m128i *)(void *)(d + 16), v1);
  _mm_stream_si128((__m128i *)(void *)(d + 32), v2);
  _mm_stream_si128((__m128i *)(void *)(d + 48), v3);
}

/*
 * Copy and checksum in one pass over memory, three streams at a time: below NON_TEMPORAL_FROM
 * every 8 bytes are fed to the crc32 instruction as they are copied; from it, each 24 KiB block
 * is checksummed and then copied from L1 with streaming stores. (Copying a chunk with memcpy and checksumming it
 * after reads the bytes twice, and glibc's `rep movsb` for mid-sized chunks crawls when source
 * and destination sit at nearby offsets modulo 4 KiB, as an arena and a Buffer often do.)
 */
__attribute__((target("sse4.2"))) static uint32_t copy_crc_hw(uint32_t crc, uint8_t *d, const uint8_t *s,
                                                              size_t len) {
  uint64_t c0 = crc;
  if (len >= NON_TEMPORAL_FROM) {
    /* Streaming stores want aligned lines: bring d to a 64-byte boundary first. */
    while (((uintptr_t)d & 63) != 0) {
      *d = *s;
      c0 = _mm_crc32_u8((uint32_t)c0, *s);
      d++;
      s++;
      len--;
    }
    /* Lines are copied moving away from the stores just made, modulo 4 KiB: backwards when the
     * destination lies less than 2 KiB past the source modulo 4 KiB (a large Buffer starts 16
     * bytes into a page, an arena region at a page start), forwards otherwise. The other way
     * round, each line's loads alias the stores of the line before (64 MiB from a page start
     * into a Buffer: 11.5 ms, against 7.4-8.4 ms so and 7.3-8.1 ms for memcpy). */
    const bool backward = ((uintptr_t)d - (uintptr_t)s) % 4096 < 2048;
    while (len >= 3 * LONG_BLOCK) {
      uint64_t c1 = 0, c2 = 0;
      for (size_t i = 0; i < LONG_BLOCK; i += 8) {
        c0 = _mm_crc32_u64(c0, load64(s + i));
        c1 = _mm_crc32_u64(c1, load64(s + LONG_BLOCK + i));
        c2 = _mm_crc32_u64(c2, load64(s + 2 * LONG_BLOCK + i));
      }
      c0 = shift(shift_long, (uint32_t)c0) ^ (uint32_t)c1;
      c0 = shift(shift_long, (uint32_t)c0) ^ (uint32_t)c2;
      /* The 24 KiB just read are in L1: copied from there, memory is read once. */
      if (backward)
        for (size_t i = 3 * LONG_BLOCK; i != 0;) {
          i -= 64;
          stream_line(d + i, s + i);
        }
      else
        for (size_t i = 0; i < 3 * LONG_BLOCK; i += 64) stream_line(d + i, s + i);
      s += 3 * LONG_BLOCK;
      d += 3 * LONG_BLOCK;
      len -= 3 * LONG_BLOCK;
    }
    _mm_sfence(); /* the streamed stores are visible before anything that follows */
  } else {
    while (len >= 3 * LONG_BLOCK) {
      uint64_t c1 = 0, c2 = 0;
      for (size_t i = 0; i < LONG_BLOCK; i += 8) {
        uint64_t v0 = load64(s + i), v1 = load64(s + LONG_BLOCK + i), v2 = load64(s + 2 * LONG_BLOCK + i);
        c0 = _mm_crc32_u64(c0, v0);
        c1 = _mm_crc32_u64(c1, v1);
        c2 = _mm_crc32_u64(c2, v2);
        store64(d + i, v0);
        store64(d + LONG_BLOCK + i, v1);
        store64(d + 2 * LONG_BLOCK + i, v2);
      }
      c0 = shift(shift_long, (uint32_t)c0) ^ (uint32_t)c1;
      c0 = shift(shift_long, (uint32_t)c0) ^ (uint32_t)c2;
      s += 3 * LONG_BLOCK;
      d += 3 * LONG_BLOCK;
      len -= 3 * LONG_BLOCK;
    }
  }
  memcpy(d, s, len);
  return crc_hw((uint32_t)c0, d, len);
}
#endif

uint32_t crc32c_copy(uint32_t crc, void *dst, const void *src, size_t len) {
  pthread_once(&once, init_tables);
#if defined(__x86_64__)
  if (have_hw) return ~copy_crc_hw(~crc, dst, src, len);
#endif
  /* Portable: copy a chunk, then checksum it while it is still in cache. */
  const size_t chunk = 64 * 1024;
  uint8_t *d = dst;
  const uint8_t *s = src;
  while (len != 0) {
    size_t n = len < chunk ? len : chunk;
    memcpy(d, s, n);
    crc = crc32c(crc, d, n);
    d += n;
    s += n;
    len -= n;
  }
  return crc;
}

/* crc32c(bytes, seed = 0) -> number. Chaining: crc32c(b, crc32c(a)) == crc32c(a ++ b). */
napi_value js_crc32c(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint8_t *data;
  size_t len;
  if (argc < 1 || !arg_bytes(env, argv[0], &data, &len))
    return throw_error(env, RC_INVAL, 0, "crc32c: expected a Uint8Array, DataView or ArrayBuffer");
  uint32_t seed = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (t != napi_undefined && !arg_u32(env, argv[1], &seed))
    return throw_error(env, RC_INVAL, 0, "crc32c: the seed must be an unsigned 32-bit integer");
  return make_u32(env, crc32c(seed, data, len));
}

/* crc32cCopy(dst, src, seed = 0) -> number: copies src into the start of dst (at least as long)
 * and returns the CRC32C of the bytes, in one pass. */
napi_value js_crc32c_copy(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint8_t *dst, *src;
  size_t dst_len, src_len;
  if (argc < 2 || !arg_bytes(env, argv[0], &dst, &dst_len) || !arg_bytes(env, argv[1], &src, &src_len))
    return throw_error(env, RC_INVAL, 0, "crc32cCopy(dst, src[, seed]): dst and src must be Uint8Arrays");
  if (dst_len < src_len)
    return throw_error(env, RC_INVAL, 0, "crc32cCopy: %zu bytes do not fit the %zu-byte destination", src_len,
                       dst_len);
  uint32_t seed = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &t);
  if (t != napi_undefined && !arg_u32(env, argv[2], &seed))
    return throw_error(env, RC_INVAL, 0, "crc32cCopy: the seed must be an unsigned 32-bit integer");
  if (src_len == 0) return make_u32(env, seed);
  /* Overlapping ranges (views of one buffer) take memmove, then a CRC of the result. */
  if (dst < src + src_len && src < dst + src_len) {
    memmove(dst, src, src_len);
    return make_u32(env, crc32c(seed, dst, src_len));
  }
  return make_u32(env, crc32c_copy(seed, dst, src, src_len));
}
