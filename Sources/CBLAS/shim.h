#include <cblas.h>

// OpenBLAS extension; declared in <cblas.h> of OpenBLAS builds, repeated for other layouts.
void openblas_set_num_threads(int num_threads);
