#include "zen_kernels.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void zen_retain_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

void zen_release_freed_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
