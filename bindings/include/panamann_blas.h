/* Headers jextract reads for the OpenBLAS bindings of panama-nn:
 * CBLAS plus the few Fortran LAPACK routines used (OpenBLAS exports them;
 * Debian ships no LAPACKE for it). gfortran passes the length of each
 * CHARACTER argument as a trailing size_t, so they are declared here. */
#include <stddef.h>
#include <cblas.h>

void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda,
             float *w, float *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t uplo_len);
void sgesdd_(const char *jobz, const int *m, const int *n, float *a, const int *lda, float *s,
             float *u, const int *ldu, float *vt, const int *ldvt, float *work, const int *lwork,
             int *iwork, int *info, size_t jobz_len);
