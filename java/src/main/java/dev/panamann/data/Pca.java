package dev.panamann.data;

import dev.panamann.bindings.openblas.openblas_h;
import dev.panamann.ops.Backends;
import dev.panamann.ops.dnnl.NativeLibraries;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Principal component analysis and PCA whitening, fitted on a training set.
 *
 * <p>Fitting centres the data (per-feature mean), forms the covariance {@code Xc^T Xc / N}
 * (D, D) with the backend's gemm (in chunks of rows, so no centred copy of the whole set is
 * made) and takes its eigen-decomposition with LAPACK {@code ssyevd} from OpenBLAS. There is
 * no pure-Java eigensolver: without OpenBLAS, {@link #fit} fails with an
 * {@link UnsatisfiedLinkError} that names the missing library and its package.
 *
 * <p>{@link #project} maps an example x to {@code U_k (x - mean)}, its coordinates on the
 * top-k components; {@link #whiten} also divides coordinate j by {@code sqrt(lambda_j + eps)},
 * so that the whitened training set has (nearly) identity covariance. Eigenvalues are float32
 * and tiny negative ones from round-off are clamped to 0.
 *
 * <p>Shapes: x is (N, ...) with D = the product of the trailing dimensions.
 */
public final class Pca implements AutoCloseable {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Floats per scratch chunk of rows. */
    private static final int CHUNK_FLOATS = 1 << 22;

    private final Ops ops;
    private final int d;
    private final float[] mean;
    private final Tensor components;
    private final float[] variances;

    private Pca(Ops ops, float[] mean, Tensor components, float[] variances) {
        this.ops = ops;
        this.d = mean.length;
        this.mean = mean;
        this.components = components;
        this.variances = variances;
    }

    /**
     * Fits PCA on {@code x} with the default backend's gemm.
     *
     * @param x (N, ...) training examples, N >= 1
     */
    public static Pca fit(Tensor x) {
        return fit(x, Backends.get());
    }

    /**
     * Fits PCA on {@code x}.
     *
     * @param x   (N, ...) training examples, N >= 1
     * @param ops backend whose gemm forms the covariance (later projections use it too)
     * @throws UnsatisfiedLinkError when OpenBLAS (for LAPACK {@code ssyevd}) cannot be loaded
     */
    public static Pca fit(Tensor x, Ops ops) {
        requireLapack();
        x.checkOpen();
        int n = x.rank() < 1 ? 0 : x.dim(0);
        if (n < 1) throw new IllegalArgumentException("PCA: need at least one example, got x " + x.shapeString());
        int d = Preprocess.features(x);
        if (d < 1) throw new IllegalArgumentException("PCA: examples have no features, x " + x.shapeString());
        float[] mean = Preprocess.toFloat(Preprocess.columnMeans(x));
        for (int j = 0; j < d; j++) {
            if (!Float.isFinite(mean[j])) {
                throw new IllegalArgumentException("PCA: x " + x.shapeString() + " holds NaN or infinite values (feature " + j + ")");
            }
        }
        int rows = Math.max(1, Math.min(n, CHUNK_FLOATS / d));
        try (Tensor cov = Tensor.zeros(d, d); Tensor chunk = Tensor.zeros(rows, d)) {
            for (int r0 = 0; r0 < n; r0 += rows) {
                int r = Math.min(rows, n - r0);
                Tensor c = centred(x, r0, r, mean, chunk);
                ops.gemm(true, false, d, d, r, 1f / n, c, c, r0 == 0 ? 0f : 1f, cov);
            }
            float[] w = new float[d];
            syevd(cov.segment(), d, w);
            // Column j of the column-major result (= row j of the row-major memory) is the
            // eigenvector of w[j]; w is ascending. Reorder to descending variance.
            Tensor comps = Tensor.zeros(d, d);
            float[] variances = new float[d];
            float[] v = new float[d];
            MemorySegment src = cov.segment(), dst = comps.segment();
            for (int i = 0; i < d; i++) {
                int j = d - 1 - i;
                variances[i] = Math.max(0f, w[j]);
                MemorySegment.copy(src, F, (long) j * d * Float.BYTES, v, 0, d);
                int big = 0;
                for (int p = 1; p < d; p++) if (Math.abs(v[p]) > Math.abs(v[big])) big = p;
                if (v[big] < 0) for (int p = 0; p < d; p++) v[p] = -v[p];
                MemorySegment.copy(v, 0, dst, F, (long) i * d * Float.BYTES, d);
            }
            return new Pca(ops, mean, comps, variances);
        }
    }

    /** Number of input features D. */
    public int dim() { return d; }

    /** The training mean (D), a copy. */
    public float[] mean() { return mean.clone(); }

    /** The principal axes (D, D): row i is the unit eigenvector of the i-th largest variance. Owned by this object. */
    public Tensor components() { return components; }

    /** The variance along each component (D), largest first (the covariance eigenvalues), a copy. */
    public float[] variances() { return variances.clone(); }

    /** Fraction of the total variance kept by the top {@code k} components. */
    public double explainedVariance(int k) {
        checkK(k);
        double top = 0, all = 0;
        for (int i = 0; i < d; i++) {
            all += variances[i];
            if (i < k) top += variances[i];
        }
        return all == 0 ? 1 : top / all;
    }

    /**
     * Coordinates of {@code x} on the top-k components.
     *
     * @param x (N, ...) with D features
     * @param k components to keep, 1..D
     * @return a new (N, k) tensor
     */
    public Tensor project(Tensor x, int k) {
        return transform(x, k, false, 0f);
    }

    /**
     * PCA whitening: projection on the top-k components, coordinate j divided by
     * {@code sqrt(variance_j + eps)}.
     *
     * @param x   (N, ...) with D features
     * @param k   components to keep, 1..D
     * @param eps added to each variance (e.g. 1e-5) so that near-zero directions are not blown up
     * @return a new (N, k) tensor
     */
    public Tensor whiten(Tensor x, int k, float eps) {
        return transform(x, k, true, eps);
    }

    /**
     * {@link #project} of a dataset's examples.
     *
     * @param data x (N, ...) with D features
     * @param k    components to keep, 1..D
     * @return a new dataset: x (N, k), y a copy of the labels
     */
    public Dataset project(Dataset data, int k) {
        return new Dataset(project(data.x(), k), data.y().clone());
    }

    /**
     * {@link #whiten} of a dataset's examples.
     *
     * @param data x (N, ...) with D features
     * @param k    components to keep, 1..D
     * @param eps  added to each variance
     * @return a new dataset: x (N, k), y a copy of the labels
     */
    public Dataset whiten(Dataset data, int k, float eps) {
        return new Dataset(whiten(data.x(), k, eps), data.y().clone());
    }

    /**
     * Projects (and optionally whitens) {@code x} into {@code out}.
     *
     * @param x      (N, ...) with D features
     * @param k      components to keep, 1..D
     * @param whiten divide coordinate j by sqrt(variance_j + eps)
     * @param eps    added to each variance when whitening
     * @param out    (N, k), overwritten
     */
    public void transform(Tensor x, int k, boolean whiten, float eps, Tensor out) {
        checkK(k);
        x.checkOpen();
        components.checkOpen();
        if (x.rank() < 1 || Preprocess.features(x) != d) {
            throw new IllegalArgumentException("PCA: x " + x.shapeString() + " does not have the " + d
                    + " features PCA was fitted on");
        }
        int n = x.dim(0);
        out.requireShape("PCA output", n, k);
        if (n == 0) return;
        int rows = Math.max(1, Math.min(n, CHUNK_FLOATS / d));
        Tensor top = components.slice(0, k);
        try (Tensor chunk = Tensor.zeros(rows, d)) {
            for (int r0 = 0; r0 < n; r0 += rows) {
                int r = Math.min(rows, n - r0);
                Tensor c = centred(x, r0, r, mean, chunk);
                ops.gemm(false, true, r, k, d, 1f, c, top, 0f, out.slice(r0, r0 + r));
            }
        }
        if (whiten) {
            float[] inv = new float[k];
            for (int j = 0; j < k; j++) inv[j] = (float) (1 / Math.sqrt((double) variances[j] + eps));
            Preprocess.forEachRow(out, row -> {
                for (int j = 0; j < row.length; j++) row[j] *= inv[j];
            });
        }
    }

    private Tensor transform(Tensor x, int k, boolean whiten, float eps) {
        checkK(k);
        Tensor out = Tensor.zeros(x.rank() < 1 ? 0 : x.dim(0), k);
        try {
            transform(x, k, whiten, eps, out);
            return out;
        } catch (RuntimeException e) {
            out.close();
            throw e;
        }
    }

    private void checkK(int k) {
        if (k < 1 || k > d) throw new IllegalArgumentException("PCA: k must be in 1.." + d + ", got " + k);
    }

    /** Copies rows [r0, r0 + r) of x into the chunk, minus the mean; returns the (r, D) view. */
    private static Tensor centred(Tensor x, int r0, int r, float[] mean, Tensor chunk) {
        int d = mean.length;
        MemorySegment src = x.segment(), dst = chunk.segment();
        float[] row = new float[d];
        for (int i = 0; i < r; i++) {
            MemorySegment.copy(src, F, (long) (r0 + i) * d * Float.BYTES, row, 0, d);
            for (int j = 0; j < d; j++) row[j] -= mean[j];
            MemorySegment.copy(row, 0, dst, F, (long) i * d * Float.BYTES, d);
        }
        return chunk.slice(0, r);
    }

    private static void requireLapack() {
        try {
            NativeLibraries.load();
        } catch (UnsatisfiedLinkError e) {
            throw new UnsatisfiedLinkError("PCA needs LAPACK (ssyevd) from OpenBLAS, which could not be loaded: "
                    + e.getMessage());
        }
    }

    /**
     * Eigen-decomposition of the symmetric (n, n) matrix in {@code a} (float32): on return
     * {@code a} holds the eigenvectors as columns (column-major) and {@code w} the eigenvalues,
     * ascending.
     */
    private static void syevd(MemorySegment a, int n, float[] w) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment jobz = arena.allocateFrom(ValueLayout.JAVA_BYTE, (byte) 'V');
            MemorySegment uplo = arena.allocateFrom(ValueLayout.JAVA_BYTE, (byte) 'U');
            MemorySegment pn = arena.allocateFrom(ValueLayout.JAVA_INT, n);
            MemorySegment lda = arena.allocateFrom(ValueLayout.JAVA_INT, n);
            MemorySegment pw = arena.allocate(ValueLayout.JAVA_FLOAT, n);
            MemorySegment lwork = arena.allocateFrom(ValueLayout.JAVA_INT, -1);
            MemorySegment liwork = arena.allocateFrom(ValueLayout.JAVA_INT, -1);
            MemorySegment info = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment work1 = arena.allocate(ValueLayout.JAVA_FLOAT);
            MemorySegment iwork1 = arena.allocate(ValueLayout.JAVA_INT);
            // workspace query
            callSyevd(jobz, uplo, pn, a, lda, pw, work1, lwork, iwork1, liwork, info);
            checkInfo(info.get(ValueLayout.JAVA_INT, 0), n, "workspace query");
            long lw = workSize(work1.get(ValueLayout.JAVA_FLOAT, 0), n);
            int liw = Math.max(iwork1.get(ValueLayout.JAVA_INT, 0), 3 + 5 * n);
            MemorySegment work = arena.allocate(ValueLayout.JAVA_FLOAT, lw);
            MemorySegment iwork = arena.allocate(ValueLayout.JAVA_INT, liw);
            lwork.set(ValueLayout.JAVA_INT, 0, Math.toIntExact(lw));
            liwork.set(ValueLayout.JAVA_INT, 0, liw);
            callSyevd(jobz, uplo, pn, a, lda, pw, work, lwork, iwork, liwork, info);
            checkInfo(info.get(ValueLayout.JAVA_INT, 0), n, "eigen-decomposition");
            MemorySegment.copy(pw, ValueLayout.JAVA_FLOAT, 0, w, 0, n);
        }
    }

    /**
     * The {@code lwork} to pass to {@code ssyevd} with {@code jobz = 'V'}: the workspace query's
     * answer, but never below LAPACK's documented minimum {@code 1 + 6n + 2n^2}. The query
     * returns the size as a float, which cannot hold every integer above 2^24: for n = 3072 the
     * minimum 18892801 comes back as 18892800, and passing that fails with "argument 8 had an
     * illegal value".
     *
     * @param query the float the workspace query wrote to {@code work[0]}
     * @param n     order of the matrix
     */
    static long workSize(float query, int n) {
        long min = 1 + 6L * n + 2L * n * n;
        long asked = (long) Math.ceil(query);
        long lw = Math.max(min, asked);
        if (lw > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("PCA: a " + n + "x" + n + " eigen-decomposition needs " + lw
                    + " floats of LAPACK workspace, more than a 32-bit LAPACK can address; reduce the number of features");
        }
        return lw;
    }

    private static void callSyevd(MemorySegment jobz, MemorySegment uplo, MemorySegment n, MemorySegment a,
                                  MemorySegment lda, MemorySegment w, MemorySegment work, MemorySegment lwork,
                                  MemorySegment iwork, MemorySegment liwork, MemorySegment info) {
        try {
            // Fortran calling convention: every argument by address, then the hidden lengths
            // of the two character arguments.
            openblas_h.ssyevd_(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info, 1L, 1L);
        } catch (ExceptionInInitializerError | NoClassDefFoundError | java.util.NoSuchElementException e) {
            throw new UnsatisfiedLinkError("PCA needs LAPACK's ssyevd_, which the loaded OpenBLAS does not export ("
                    + e + "). Install an OpenBLAS with LAPACK: apt-get install libopenblas0-openmp");
        }
    }

    private static void checkInfo(int info, int n, String what) {
        if (info < 0) throw new IllegalStateException("ssyevd " + what + ": argument " + (-info) + " had an illegal value");
        if (info > 0) {
            throw new IllegalStateException("ssyevd " + what + " did not converge for the " + n + "x" + n
                    + " covariance (info " + info + "): the data may hold NaN or infinite values");
        }
    }

    /** Frees the components. */
    @Override
    public void close() { components.close(); }
}
