/* OpenMP runtime calls panama-nn uses to set oneDNN's thread count (libgomp). */
int omp_get_max_threads(void);
void omp_set_num_threads(int num_threads);
int omp_get_num_procs(void);
