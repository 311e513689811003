/* Linked into every glibc addon (see native/targets.mjs). glibc 2.33 made stat() and fstat()
 * real functions; before it they were inline wrappers of __xstat()/__fxstat(), which is all a
 * glibc 2.28 has. The link step wraps stat and fstat (--wrap), so every call in libnng, Mbed TLS
 * and our sources lands here and reaches the old entry points, which newer glibc still keeps. */
#include <sys/stat.h>

#if defined(__x86_64__)
#define STAT_VER 1 /* _STAT_VER_LINUX */
#define OLD_GLIBC "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define STAT_VER 0 /* _STAT_VER on the generic ABI */
#define OLD_GLIBC "GLIBC_2.17"
#else
#error "glibc-compat.c: no old stat entry points known for this architecture"
#endif

extern int __xstat(int ver, const char *path, struct stat *buf);
extern int __fxstat(int ver, int fd, struct stat *buf);
__asm__(".symver __xstat,__xstat@" OLD_GLIBC);
__asm__(".symver __fxstat,__fxstat@" OLD_GLIBC);

__attribute__((visibility("hidden"))) int __wrap_stat(const char *path, struct stat *buf) {
  return __xstat(STAT_VER, path, buf);
}

__attribute__((visibility("hidden"))) int __wrap_fstat(int fd, struct stat *buf) {
  return __fxstat(STAT_VER, fd, buf);
}
