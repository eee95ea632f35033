package dev.panamann.ops.java;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link GemmKernel} on the Vector API ({@code jdk.incubator.vector}), loaded only when that
 * module is present (see {@link GemmKernel#fromSettings()}).
 *
 * <p>b comes in panels of two vectors' width (32 floats with AVX-512, 16 with AVX2), k in
 * blocks of {@value #KB}, so one panel block (16 KiB with AVX-512) stays in the L1 cache while
 * every row tile of a passes over it. A tile of 4 rows x 2 vectors of c (8 accumulators) stays
 * in registers over the k block: each step loads two vectors of the panel, broadcasts four
 * values of a and does eight fused multiply-adds. Rows past the last multiple of 4 take a
 * 1 x 2-vector tile.
 */
final class VectorGemmKernel implements GemmKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length(), NR = 2 * L;
    private static final int KB = 128;

    @Override
    public int panelWidth() { return NR; }

    @Override
    public void multiplyAddPacked(float[] a, float[] bp, int panels, float[] c, int ldc, int rows, int k, boolean accumulate) {
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < rows; i++) java.util.Arrays.fill(c, i * ldc, i * ldc + panels * NR, 0f);
            }
            return;
        }
        for (int p0 = 0; p0 < k; p0 += KB) {
            int p1 = Math.min(k, p0 + KB);
            boolean load = accumulate || p0 > 0;
            for (int q = 0; q < panels; q++) {
                int bq = q * k * NR, cj = q * NR;
                int i = 0;
                for (; i + 4 <= rows; i += 4) tile4(a, bp, c, i, k, ldc, bq, cj, p0, p1, load);
                for (; i < rows; i++) tile1(a, bp, c, i, k, ldc, bq, cj, p0, p1, load);
            }
        }
    }

    /** Rows i..i+3 of c, panel columns from cj, summing over p in [p0, p1); from c's values when load, else from zero. */
    private static void tile4(float[] a, float[] bp, float[] c, int i, int k, int ldc, int bq, int cj, int p0, int p1, boolean load) {
        int a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
        int c0 = i * ldc + cj, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector x00, x01, x10, x11, x20, x21, x30, x31;
        if (load) {
            x00 = FloatVector.fromArray(S, c, c0);
            x01 = FloatVector.fromArray(S, c, c0 + L);
            x10 = FloatVector.fromArray(S, c, c1);
            x11 = FloatVector.fromArray(S, c, c1 + L);
            x20 = FloatVector.fromArray(S, c, c2);
            x21 = FloatVector.fromArray(S, c, c2 + L);
            x30 = FloatVector.fromArray(S, c, c3);
            x31 = FloatVector.fromArray(S, c, c3 + L);
        } else {
            x00 = FloatVector.zero(S);
            x01 = x00;
            x10 = x00;
            x11 = x00;
            x20 = x00;
            x21 = x00;
            x30 = x00;
            x31 = x00;
        }
        for (int p = p0, bi = bq + p0 * NR; p < p1; p++, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + L);
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
        x00.intoArray(c, c0);
        x01.intoArray(c, c0 + L);
        x10.intoArray(c, c1);
        x11.intoArray(c, c1 + L);
        x20.intoArray(c, c2);
        x21.intoArray(c, c2 + L);
        x30.intoArray(c, c3);
        x31.intoArray(c, c3 + L);
    }

    /** Row i of c, panel columns from cj, summing over p in [p0, p1). */
    private static void tile1(float[] a, float[] bp, float[] c, int i, int k, int ldc, int bq, int cj, int p0, int p1, boolean load) {
        int ai = i * k, ci = i * ldc + cj;
        FloatVector x0 = load ? FloatVector.fromArray(S, c, ci) : FloatVector.zero(S);
        FloatVector x1 = load ? FloatVector.fromArray(S, c, ci + L) : FloatVector.zero(S);
        for (int p = p0, bi = bq + p0 * NR; p < p1; p++, bi += NR) {
            FloatVector v = FloatVector.broadcast(S, a[ai + p]);
            x0 = FloatVector.fromArray(S, bp, bi).fma(v, x0);
            x1 = FloatVector.fromArray(S, bp, bi + L).fma(v, x1);
        }
        x0.intoArray(c, ci);
        x1.intoArray(c, ci + L);
    }

    @Override
    public String name() { return "vector (" + L + " floats)"; }

    @Override
    public String toString() { return "VectorGemmKernel(" + L + " floats)"; }
}
