package dev.panamann.ops.java;

/**
 * Packs a matrix b (k, n) into the panels {@link GemmKernel#multiplyAddPacked} reads: panel q
 * holds columns {@code [q * nr, (q + 1) * nr)} as k rows of nr contiguous floats, element
 * (p, j) at {@code (j / nr) * k * nr + p * nr + j % nr}; columns past n are zero.
 */
final class Panels {
    private Panels() {}

    /** Panels needed for n columns. */
    static int count(int n, int nr) { return (n + nr - 1) / nr; }

    /** Floats of the packed form of a (k, n) matrix; throws when it does not fit a Java array. */
    static int size(int k, int n, int nr) {
        long s = (long) count(n, nr) * nr * k;
        if (s > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a packed " + k + " x " + n + " matrix does not fit a Java array");
        }
        return (int) s;
    }

    /** Packs b (k, n), row-major at {@code b[off + p * n + j]}, into {@code dst}. */
    static void packRows(float[] b, int off, int k, int n, int nr, float[] dst) {
        int panels = count(n, nr);
        for (int q = 0; q < panels; q++) {
            int j0 = q * nr, w = Math.min(nr, n - j0), d = q * k * nr;
            for (int p = 0; p < k; p++, d += nr) {
                System.arraycopy(b, off + p * n + j0, dst, d, w);
                if (w < nr) java.util.Arrays.fill(dst, d + w, d + nr, 0f);
            }
        }
    }

    /** Packs b (k, n) given transposed, b^T (n, k) row-major at {@code bt[off + j * k + p]}, into {@code dst}. */
    static void packTransposed(float[] bt, int off, int k, int n, int nr, float[] dst) {
        int panels = count(n, nr);
        for (int q = 0; q < panels; q++) {
            int j0 = q * nr, w = Math.min(nr, n - j0), d = q * k * nr;
            for (int jj = 0; jj < w; jj++) {
                int src = off + (j0 + jj) * k;
                for (int p = 0; p < k; p++) dst[d + p * nr + jj] = bt[src + p];
            }
            for (int jj = w; jj < nr; jj++) {
                for (int p = 0; p < k; p++) dst[d + p * nr + jj] = 0f;
            }
        }
    }
}
