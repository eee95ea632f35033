/* panama-nn native library. For now it only reports the versions of the
 * libraries it was built against; the conv-net train step written directly
 * against oneDNN + OpenBLAS (the "no Java at all" ceiling) is the program in
 * convnet_bench.c. */
#include <cblas.h>
#include <dnnl.h>

int panamann_native_dnnl_major(void) { return dnnl_version()->major; }
int panamann_native_openblas_parallel(void) { return openblas_get_parallel(); }
