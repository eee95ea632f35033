package dev.panamann.ops.java;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link GemmKernel} on the Vector API ({@code jdk.incubator.vector}), loaded only when that
 * module is present (see {@link GemmKernel#fromSettings()}).
 *
 * <p>Within cache blocks of b (KB x NB), a tile of 4 rows x 2 vectors of c (8 accumulators:
 * 4 x 32 floats with AVX-512, 4 x 16 with AVX2) stays in registers over the whole k block: each
 * step loads two vectors of b, broadcasts four values of a and does eight fused multiply-adds,
 * where the scalar loop loads and stores c once per multiply-add. Edges fall back to one-vector
 * tiles and then to scalar loops.
 */
final class VectorGemmKernel implements GemmKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int KB = 256, NB = 8 * 16;

    @Override
    public void multiplyAdd(float[] a, float[] b, float[] c, int rows, int n, int k) {
        int nb = Math.max(NB, 2 * L);
        for (int j0 = 0; j0 < n; j0 += nb) {
            int j1 = Math.min(n, j0 + nb);
            for (int p0 = 0; p0 < k; p0 += KB) {
                int p1 = Math.min(k, p0 + KB);
                int i = 0;
                for (; i + 4 <= rows; i += 4) tile4(a, b, c, i, n, k, j0, j1, p0, p1);
                for (; i < rows; i++) tile1(a, b, c, i, n, k, j0, j1, p0, p1);
            }
        }
    }

    /** Rows i..i+3 of c, columns [j0, j1), summing over p in [p0, p1). */
    private static void tile4(float[] a, float[] b, float[] c, int i, int n, int k, int j0, int j1, int p0, int p1) {
        int a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
        int c0 = i * n, c1 = c0 + n, c2 = c1 + n, c3 = c2 + n;
        int j = j0;
        for (; j + 2 * L <= j1; j += 2 * L) {
            FloatVector x00 = FloatVector.fromArray(S, c, c0 + j), x01 = FloatVector.fromArray(S, c, c0 + j + L);
            FloatVector x10 = FloatVector.fromArray(S, c, c1 + j), x11 = FloatVector.fromArray(S, c, c1 + j + L);
            FloatVector x20 = FloatVector.fromArray(S, c, c2 + j), x21 = FloatVector.fromArray(S, c, c2 + j + L);
            FloatVector x30 = FloatVector.fromArray(S, c, c3 + j), x31 = FloatVector.fromArray(S, c, c3 + j + L);
            for (int p = p0; p < p1; p++) {
                int bi = p * n + j;
                FloatVector b0 = FloatVector.fromArray(S, b, bi), b1 = FloatVector.fromArray(S, b, bi + L);
                FloatVector v = FloatVector.broadcast(S, a[a0 + p]);
                x00 = b0.fma(v, x00);
                x01 = b1.fma(v, x01);
                v = FloatVector.broadcast(S, a[a1 + p]);
                x10 = b0.fma(v, x10);
                x11 = b1.fma(v, x11);
                v = FloatVector.broadcast(S, a[a2 + p]);
                x20 = b0.fma(v, x20);
                x21 = b1.fma(v, x21);
                v = FloatVector.broadcast(S, a[a3 + p]);
                x30 = b0.fma(v, x30);
                x31 = b1.fma(v, x31);
            }
            x00.intoArray(c, c0 + j);
            x01.intoArray(c, c0 + j + L);
            x10.intoArray(c, c1 + j);
            x11.intoArray(c, c1 + j + L);
            x20.intoArray(c, c2 + j);
            x21.intoArray(c, c2 + j + L);
            x30.intoArray(c, c3 + j);
            x31.intoArray(c, c3 + j + L);
        }
        for (; j + L <= j1; j += L) {
            FloatVector x0 = FloatVector.fromArray(S, c, c0 + j), x1 = FloatVector.fromArray(S, c, c1 + j);
            FloatVector x2 = FloatVector.fromArray(S, c, c2 + j), x3 = FloatVector.fromArray(S, c, c3 + j);
            for (int p = p0; p < p1; p++) {
                FloatVector bv = FloatVector.fromArray(S, b, p * n + j);
                x0 = bv.fma(FloatVector.broadcast(S, a[a0 + p]), x0);
                x1 = bv.fma(FloatVector.broadcast(S, a[a1 + p]), x1);
                x2 = bv.fma(FloatVector.broadcast(S, a[a2 + p]), x2);
                x3 = bv.fma(FloatVector.broadcast(S, a[a3 + p]), x3);
            }
            x0.intoArray(c, c0 + j);
            x1.intoArray(c, c1 + j);
            x2.intoArray(c, c2 + j);
            x3.intoArray(c, c3 + j);
        }
        if (j < j1) {
            for (int r = 0; r < 4; r++) scalar(a, b, c, i + r, n, k, j, j1, p0, p1);
        }
    }

    /** Row i of c, columns [j0, j1), summing over p in [p0, p1). */
    private static void tile1(float[] a, float[] b, float[] c, int i, int n, int k, int j0, int j1, int p0, int p1) {
        int ai = i * k, ci = i * n;
        int j = j0;
        for (; j + L <= j1; j += L) {
            FloatVector x = FloatVector.fromArray(S, c, ci + j);
            for (int p = p0; p < p1; p++) {
                x = FloatVector.fromArray(S, b, p * n + j).fma(FloatVector.broadcast(S, a[ai + p]), x);
            }
            x.intoArray(c, ci + j);
        }
        if (j < j1) scalar(a, b, c, i, n, k, j, j1, p0, p1);
    }

    private static void scalar(float[] a, float[] b, float[] c, int i, int n, int k, int j0, int j1, int p0, int p1) {
        int ai = i * k, ci = i * n;
        for (int j = j0; j < j1; j++) {
            float s = c[ci + j];
            for (int p = p0; p < p1; p++) s = Math.fma(a[ai + p], b[p * n + j], s);
            c[ci + j] = s;
        }
    }

    @Override
    public String name() { return "vector (" + L + " floats)"; }

    @Override
    public String toString() { return "VectorGemmKernel(" + L + " floats)"; }
}
