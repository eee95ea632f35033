package dev.panamann.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GemmTest {

    static Stream<Arguments> cases() {
        int[][] sizes = {{1, 1, 1}, {7, 13, 5}, {129, 65, 33}, {1, 300, 7}, {64, 1, 129}, {3, 5, 300}};
        Stream.Builder<Arguments> b = Stream.builder();
        for (int[] s : sizes) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    b.add(Arguments.of(s[0], s[1], s[2], ta, tb));
                }
            }
        }
        return b.build();
    }

    /** Reference: double-precision triple loop on the stored layouts. */
    static double[] reference(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, float[] b, float beta, float[] c) {
        double[] r = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double av = ta ? a[p * m + i] : a[i * k + p];
                    double bv = tb ? b[j * k + p] : b[p * n + j];
                    s += av * bv;
                }
                r[i * n + j] = alpha * s + beta * c[i * n + j];
            }
        }
        return r;
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
    @MethodSource("cases")
    void bothBackendsMatchReferenceAndEachOther(int m, int n, int k, boolean ta, boolean tb) {
        Rng rng = new Rng(m * 31L + n * 7L + k);
        try (Tensor a = Tensor.randn(rng, 1f, ta ? k : m, ta ? m : k);
             Tensor b = Tensor.randn(rng, 1f, tb ? n : k, tb ? k : n);
             Tensor c0 = Tensor.randn(rng, 1f, m, n);
             Tensor cj = c0.copy();
             Tensor cn = c0.copy()) {
            float alpha = 0.75f, beta = 0.5f;
            double[] ref = reference(ta, tb, m, n, k, alpha, a.toArray(), b.toArray(), beta, c0.toArray());
            Backs.java().gemm(ta, tb, m, n, k, alpha, a, b, beta, cj);
            Backs.nativeOps().gemm(ta, tb, m, n, k, alpha, a, b, beta, cn);
            float[] j = cj.toArray(), nat = cn.toArray();
            double tol = 1e-5 * Math.sqrt(k) * 4;
            for (int i = 0; i < m * n; i++) {
                assertEquals(ref[i], j[i], tol + 1e-5 * Math.abs(ref[i]), "java C[" + i + "]");
                assertEquals(ref[i], nat[i], tol + 1e-5 * Math.abs(ref[i]), "native C[" + i + "]");
                assertEquals(j[i], nat[i], 2 * tol + 1e-5 * Math.abs(ref[i]), "java vs native C[" + i + "]");
            }
        }
    }

    @Test
    void betaZeroIgnoresGarbageInC() {
        for (Ops ops : Backs.all()) {
            try (Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
                 Tensor b = Tensor.of(new float[] {1, 0, 0, 1}, 2, 2);
                 Tensor c = Tensor.full(Float.NaN, 2, 2)) {
                // beta = 0 must not read C (BLAS semantics): NaN there must not leak
                ops.gemm(false, false, 2, 2, 2, 1f, a, b, 0f, c);
                assertEquals(4f, c.get(1, 1), ops.name());
                assertTrue(!Float.isNaN(c.get(0, 0)), ops.name());
            }
        }
    }

    @Test
    void mismatchedShapesNameBothSides() {
        for (Ops ops : Backs.all()) {
            try (Tensor a = Tensor.zeros(2, 3); Tensor b = Tensor.zeros(4, 5); Tensor c = Tensor.zeros(2, 5)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> ops.gemm(false, false, 2, 5, 3, 1f, a, b, 0f, c));
                assertTrue(e.getMessage().contains("[4, 5]") && e.getMessage().contains("3x5"), e.getMessage());
            }
        }
    }

    @Test
    void negativeOrOversizedArgumentsAreRejectedBeforeTheNativeCall() {
        for (Ops ops : Backs.all()) {
            try (Tensor a = Tensor.zeros(2, 3); Tensor b = Tensor.zeros(3, 4); Tensor c = Tensor.zeros(2, 4)) {
                for (int[] mnk : new int[][] {{-2, 4, 3}, {2, -4, 3}, {2, 4, -3}, {-2, 4, -3}}) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.gemm(false, false,
                            mnk[0], mnk[1], mnk[2], 1f, a.segment(), b.segment(), 0f, c.segment()), ops.name());
                    assertTrue(e.getMessage().contains(">= 0"), e.getMessage());
                    assertThrows(IllegalArgumentException.class, () -> ops.gemm(false, false, mnk[0], mnk[1], mnk[2],
                            1f, a, b, 0f, c), ops.name());
                }
                // segments smaller than the matrices the sizes describe
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.gemm(false, false,
                        2, 4, 30, 1f, a.segment(), b.segment(), 0f, c.segment()));
                assertTrue(e.getMessage().contains("A has 6 floats, needs 60"), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> ops.gemm(false, false,
                        2, 40, 3, 1f, a.segment(), b.segment(), 0f, c.segment()));
            }
        }
    }

    /**
     * The strided gemm (leading dimensions): each operand a block inside a wider stored matrix,
     * padding that must stay untouched; Java (the default copies) and native (BLAS) against the
     * reference and each other.
     */
    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
    @MethodSource("cases")
    void stridedOperandsMatchTheReference(int m, int n, int k, boolean ta, boolean tb) {
        Rng rng = new Rng(m * 17L + n * 5L + k);
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        int lda = aCols + 3, ldb = bCols + 1, ldc = n + 5;
        try (Tensor a = Tensor.randn(rng, 1f, aRows, lda); Tensor b = Tensor.randn(rng, 1f, bRows, ldb);
             Tensor c0 = Tensor.randn(rng, 1f, m, ldc)) {
            float alpha = -1.25f, beta = 0.5f;
            double[] ref = reference(ta, tb, m, n, k, alpha, block(a.toArray(), aRows, aCols, lda), block(b.toArray(), bRows, bCols, ldb),
                    beta, block(c0.toArray(), m, n, ldc));
            for (Ops ops : Backs.all()) {
                try (Tensor c = c0.copy()) {
                    ops.gemm(ta, tb, m, n, k, alpha, a.segment(), lda, b.segment(), ldb, beta, c.segment(), ldc);
                    float[] got = c.toArray(), before = c0.toArray();
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < ldc; j++) {
                            if (j < n) {
                                double want = ref[i * n + j];
                                assertEquals(want, got[i * ldc + j], 1e-4 * (1 + Math.abs(want)), ops.name() + " C[" + i + "][" + j + "]");
                            } else {
                                assertEquals(before[i * ldc + j], got[i * ldc + j], ops.name() + ": padding of C written at " + i + ", " + j);
                            }
                        }
                    }
                }
            }
        }
    }

    /** The (rows, cols) block of a row-major matrix with row length ld. */
    private static float[] block(float[] s, int rows, int cols, int ld) {
        float[] d = new float[rows * cols];
        for (int r = 0; r < rows; r++) System.arraycopy(s, r * ld, d, r * cols, cols);
        return d;
    }

    @Test
    void stridedLeadingDimensionsAreChecked() {
        for (Ops ops : Backs.all()) {
            try (Tensor a = Tensor.zeros(4, 6); Tensor b = Tensor.zeros(6, 5); Tensor c = Tensor.zeros(4, 5)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> ops.gemm(false, false, 4, 5, 6, 1f, a.segment(), 5, b.segment(), 5, 0f, c.segment(), 5));
                assertTrue(e.getMessage().contains("lda must be >= 6"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class,
                        () -> ops.gemm(false, false, 4, 5, 6, 1f, a.segment(), 7, b.segment(), 5, 0f, c.segment(), 5));
                assertTrue(e.getMessage().contains("A has 24 floats, needs 27"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class,
                        () -> ops.gemm(false, false, 4, 5, 6, 1f, a.segment(), 6, b.segment(), 5, 0f, c.segment(), 4));
                assertTrue(e.getMessage().contains("ldc must be >= 5"), e.getMessage());
            }
        }
    }
}
