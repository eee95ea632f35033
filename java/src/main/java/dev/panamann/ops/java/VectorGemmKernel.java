package dev.panamann.ops.java;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
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
 *
 * <p>With b transposed and a long inner dimension (the convolution's weight gradient, k = the
 * output pixels), {@link #multiplyAddTransposed} computes 4 x 2 dot products at a time along
 * contiguous rows instead of transposing b first.
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

    @Override
    public boolean dotProductsFaster(int k) { return k >= 16 * L; }

    /** Blocks of the dot products: 4 rows of a and 2 of bt, DB floats each, stay in L1. */
    private static final int DB = 512;

    @Override
    public void multiplyAddTransposed(float[] a, float[] bt, float[] c, int rows, int n, int k) {
        for (int p0 = 0; p0 < k; p0 += DB) {
            int p1 = Math.min(k, p0 + DB);
            int pv = p0 + (p1 - p0) / L * L;
            int i = 0;
            for (; i + 4 <= rows; i += 4) {
                int j = 0;
                for (; j + 2 <= n; j += 2) dot4x2(a, bt, c, i, j, n, k, p0, pv, p1);
                if (j < n) for (int r = 0; r < 4; r++) dot1(a, bt, c, i + r, j, n, k, p0, pv, p1);
            }
            for (; i < rows; i++) {
                for (int j = 0; j < n; j++) dot1(a, bt, c, i, j, n, k, p0, pv, p1);
            }
        }
    }

    /** c[i..i+3][j..j+1] += dot products over [p0, p1); vectors over [p0, pv), scalars after. */
    private static void dot4x2(float[] a, float[] bt, float[] c, int i, int j, int n, int k, int p0, int pv, int p1) {
        int a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k, b0 = j * k, b1 = b0 + k;
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
        for (int p = p0; p < pv; p += L) {
            FloatVector y0 = FloatVector.fromArray(S, bt, b0 + p), y1 = FloatVector.fromArray(S, bt, b1 + p);
            FloatVector x = FloatVector.fromArray(S, a, a0 + p);
            s00 = x.fma(y0, s00);
            s01 = x.fma(y1, s01);
            x = FloatVector.fromArray(S, a, a1 + p);
            s10 = x.fma(y0, s10);
            s11 = x.fma(y1, s11);
            x = FloatVector.fromArray(S, a, a2 + p);
            s20 = x.fma(y0, s20);
            s21 = x.fma(y1, s21);
            x = FloatVector.fromArray(S, a, a3 + p);
            s30 = x.fma(y0, s30);
            s31 = x.fma(y1, s31);
        }
        float[] t = {s00.reduceLanes(VectorOperators.ADD), s01.reduceLanes(VectorOperators.ADD),
            s10.reduceLanes(VectorOperators.ADD), s11.reduceLanes(VectorOperators.ADD),
            s20.reduceLanes(VectorOperators.ADD), s21.reduceLanes(VectorOperators.ADD),
            s30.reduceLanes(VectorOperators.ADD), s31.reduceLanes(VectorOperators.ADD)};
        for (int p = pv; p < p1; p++) {
            float y0 = bt[b0 + p], y1 = bt[b1 + p];
            t[0] += a[a0 + p] * y0;
            t[1] += a[a0 + p] * y1;
            t[2] += a[a1 + p] * y0;
            t[3] += a[a1 + p] * y1;
            t[4] += a[a2 + p] * y0;
            t[5] += a[a2 + p] * y1;
            t[6] += a[a3 + p] * y0;
            t[7] += a[a3 + p] * y1;
        }
        for (int r = 0; r < 4; r++) {
            c[(i + r) * n + j] += t[2 * r];
            c[(i + r) * n + j + 1] += t[2 * r + 1];
        }
    }

    private static void dot1(float[] a, float[] bt, float[] c, int i, int j, int n, int k, int p0, int pv, int p1) {
        int ai = i * k, bj = j * k;
        FloatVector s = FloatVector.zero(S);
        for (int p = p0; p < pv; p += L) s = FloatVector.fromArray(S, a, ai + p).fma(FloatVector.fromArray(S, bt, bj + p), s);
        float t = s.reduceLanes(VectorOperators.ADD);
        for (int p = pv; p < p1; p++) t += a[ai + p] * bt[bj + p];
        c[i * n + j] += t;
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
