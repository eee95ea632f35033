package dev.panamann.ops.java;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import org.junit.jupiter.api.Test;

/**
 * The Vector API gemm kernel against the scalar one, a double-precision reference and the
 * native backend. Surefire starts the JVM with {@code --add-modules jdk.incubator.vector}, so
 * both kernels run here.
 */
class GemmKernelTest {

    static GemmKernel vector() {
        assertTrue(GemmKernel.vectorModulePresent(), "tests run with --add-modules jdk.incubator.vector (see java/pom.xml)");
        return GemmKernel.select("on", true);
    }

    @Test
    void selectionFollowsTheSettingAndTheModule() {
        assertSame(ScalarGemmKernel.INSTANCE, GemmKernel.select("auto", false));
        assertSame(ScalarGemmKernel.INSTANCE, GemmKernel.select("off", true));
        assertSame(ScalarGemmKernel.INSTANCE, GemmKernel.select(" OFF ", true));
        assertEquals("VectorGemmKernel", GemmKernel.select("auto", true).getClass().getSimpleName());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> GemmKernel.select("on", false));
        assertTrue(missing.getMessage().contains("--add-modules jdk.incubator.vector"), missing.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> GemmKernel.select("fast", true));
        assertTrue(bad.getMessage().contains("'fast'"), bad.getMessage());
        // the default backend of this JVM (module present, no setting) takes the Vector API
        assertTrue(new JavaOps(1).kernel().name().startsWith("vector"), new JavaOps(1).kernel().name());
    }

    @Test
    void kernelsMatchTheReferenceOnEdgeShapes() {
        GemmKernel v = vector(), s = ScalarGemmKernel.INSTANCE;
        // rows around the 4-row tile, n around the panel widths (16 and 32 floats), k around the
        // k block of 128 (and the long k of the convolution's weight gradient)
        int[][] shapes = new int[0][];
        for (int rows : new int[] {1, 3, 4, 5, 9}) {
            for (int n : new int[] {1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 65, 100}) {
                for (int k : new int[] {0, 1, 37, 128, 129, 300}) shapes = append(shapes, new int[] {rows, n, k});
            }
        }
        for (int[] extra : new int[][] {{5, 33, 257}, {4, 3, 1100}, {9, 17, 1100}, {1, 1, 1025}}) shapes = append(shapes, extra);
        Rng rng = new Rng(5);
        for (int[] shape : shapes) {
            int rows = shape[0], n = shape[1], k = shape[2];
            float[] a = random(rng, rows * k), b = random(rng, k * n), c0 = random(rng, rows * n);
            float[] bt = new float[n * k];
            for (int p = 0; p < k; p++) for (int j = 0; j < n; j++) bt[j * k + p] = b[p * n + j];
            for (GemmKernel kernel : new GemmKernel[] {v, s}) {
                int nr = kernel.panelWidth(), panels = Panels.count(n, nr), ldc = panels * nr + 3;
                float[] packed = new float[Panels.size(k, n, nr)], packedT = random(rng, packed.length);
                Panels.packRows(b, 0, k, n, nr, packed);
                Panels.packTransposed(bt, 0, k, n, nr, packedT);
                org.junit.jupiter.api.Assertions.assertArrayEquals(packed, packedT, "the two packings of " + k + " x " + n);
                for (boolean accumulate : new boolean[] {true, false}) {
                    float[] c = random(rng, rows * ldc);
                    for (int i = 0; i < rows; i++) System.arraycopy(c0, i * n, c, i * ldc, n);
                    float[] before = c.clone();
                    kernel.multiplyAddPacked(a, packed, panels, c, ldc, rows, k, accumulate);
                    for (int i = 0; i < rows; i++) {
                        for (int j = 0; j < ldc; j++) {
                            String where = kernel.name() + (accumulate ? " += " : " = ") + rows + "x" + n + "x" + k + " at (" + i + ", " + j + ")";
                            if (j >= panels * nr) {
                                assertEquals(before[i * ldc + j], c[i * ldc + j], where + ": past the panels");
                                continue;
                            }
                            double ref = accumulate ? before[i * ldc + j] : 0;
                            for (int p = 0; p < k; p++) ref += (double) a[i * k + p] * (j < n ? b[p * n + j] : 0f);
                            assertEquals(ref, c[i * ldc + j], 1e-5 * (k + 1) * 4, where);
                        }
                    }
                }
            }
        }
    }

    @Test
    void kernelLeavesArraysBeyondTheMatricesAlone() {
        GemmKernel v = vector();
        int nr = v.panelWidth();
        float[] a = random(new Rng(1), 5 * 3 + 5), b = random(new Rng(2), 3 * 33), c = new float[5 * 2 * nr * 2 + 7];
        float[] bp = new float[Panels.size(3, 33, nr) + 9];
        java.util.Arrays.fill(bp, 42f);
        Panels.packRows(b, 0, 3, 33, nr, bp);
        for (int i = Panels.size(3, 33, nr); i < bp.length; i++) assertEquals(42f, bp[i]);
        java.util.Arrays.fill(c, 5 * 2 * nr * 2, c.length, 42f);
        v.multiplyAddPacked(a, bp, Panels.count(33, nr), c, 2 * nr * 2, 5, 3, true);
        for (int i = 5 * 2 * nr * 2; i < c.length; i++) assertEquals(42f, c[i]);
    }

    @Test
    void vectorBackendGemmMatchesScalarAndNativeOnTheConvNetShapes() {
        Ops nat = Backs.nativeOps();
        try (JavaOps jv = new JavaOps(2, vector()); JavaOps js = new JavaOps(2, ScalarGemmKernel.INSTANCE)) {
            // conv forward (F, P) = W (F, K) cols (K, P), dW with transB, dcols with transA, affine 64x8192x100
            int[][] shapes = {{32, 1024, 147, 0, 0}, {32, 147, 1024, 0, 1}, {147, 1024, 32, 1, 0}, {64, 100, 8192, 0, 0}, {101, 67, 45, 1, 1}};
            Rng rng = new Rng(9);
            for (int[] sh : shapes) {
                int m = sh[0], n = sh[1], k = sh[2];
                boolean ta = sh[3] == 1, tb = sh[4] == 1;
                try (Tensor a = Tensor.randn(rng, 1f, ta ? k : m, ta ? m : k);
                     Tensor b = Tensor.randn(rng, 1f, tb ? n : k, tb ? k : n);
                     Tensor c0 = Tensor.randn(rng, 1f, m, n);
                     Tensor cv = c0.copy(); Tensor cs = c0.copy(); Tensor cn = c0.copy()) {
                    jv.gemm(ta, tb, m, n, k, 0.5f, a, b, 0.25f, cv);
                    js.gemm(ta, tb, m, n, k, 0.5f, a, b, 0.25f, cs);
                    nat.gemm(ta, tb, m, n, k, 0.5f, a, b, 0.25f, cn);
                    float[] v = cv.toArray(), s = cs.toArray(), r = cn.toArray();
                    double tol = 2e-6 * k;
                    for (int i = 0; i < v.length; i++) {
                        assertEquals(r[i], v[i], tol, "vector vs native " + m + "x" + n + "x" + k + " at " + i);
                        assertEquals(s[i], v[i], tol, "vector vs scalar " + m + "x" + n + "x" + k + " at " + i);
                    }
                }
            }
        }
    }

    @Test
    void vectorConvMatchesScalarAndNative() {
        // the conv net's layer, and odd shapes: F and P past the panels, stride 2, fewer images than threads
        ConvGeometry[] geometries = {new ConvGeometry(2, 3, 16, 16, 32, 7, 7, 1, 3), new ConvGeometry(3, 2, 9, 11, 5, 3, 3, 1, 1),
            new ConvGeometry(1, 4, 8, 7, 33, 2, 3, 2, 0), new ConvGeometry(5, 1, 5, 5, 1, 5, 5, 1, 0)};
        for (ConvGeometry g : geometries) {
            for (int threads : new int[] {1, 3}) convAgainstScalarAndNative(g, threads);
        }
    }

    private static void convAgainstScalarAndNative(ConvGeometry g, int threads) {
        Ops nat = Backs.nativeOps();
        try (JavaOps jv = new JavaOps(threads, vector()); JavaOps js = new JavaOps(threads, ScalarGemmKernel.INSTANCE)) {
            Rng rng = new Rng(3);
            try (Tensor x = Tensor.randn(rng, 1f, g.inputShape()); Tensor w = Tensor.randn(rng, 0.1f, g.weightShape());
                 Tensor b = Tensor.randn(rng, 1f, g.f()); Tensor dout = Tensor.randn(rng, 1f, g.outputShape())) {
                float[][] v = conv(jv, g, x, w, b, dout), s = conv(js, g, x, w, b, dout), r = conv(nat, g, x, w, b, dout);
                String[] names = {"out", "dx", "dw", "db"};
                for (int t = 0; t < 4; t++) {
                    double scale = 0;
                    for (float f : r[t]) scale = Math.max(scale, Math.abs(f));
                    for (int i = 0; i < r[t].length; i++) {
                        String where = names[t] + " at " + i + ", " + g + ", " + threads + " threads";
                        assertEquals(r[t][i], v[t][i], 1e-4 * scale, "vector vs native " + where);
                        assertEquals(s[t][i], v[t][i], 1e-4 * scale, "vector vs scalar " + where);
                    }
                }
            }
        }
    }

    /** out, dx, dw, db of one forward and backward. */
    static float[][] conv(Ops ops, ConvGeometry g, Tensor x, Tensor w, Tensor b, Tensor dout) {
        try (Conv2dOp op = ops.conv2d(g); Tensor out = Tensor.zeros(g.outputShape()); Tensor dx = Tensor.zeros(g.inputShape());
             Tensor dw = Tensor.zeros(g.weightShape()); Tensor db = Tensor.zeros(g.f())) {
            op.forward(x, w, b, out);
            op.backward(x, w, dout, dx, dw, db);
            float[][] first = {out.toArray(), dx.toArray(), dw.toArray(), db.toArray()};
            // a second step on the same plan (reused buffers) without dx gives the same dw and db
            op.forward(x, w, b, out);
            op.backward(x, w, dout, null, dw, db);
            org.junit.jupiter.api.Assertions.assertArrayEquals(first[0], out.toArray(), "out, second step on " + ops);
            org.junit.jupiter.api.Assertions.assertArrayEquals(first[2], dw.toArray(), "dw, second step on " + ops);
            org.junit.jupiter.api.Assertions.assertArrayEquals(first[3], db.toArray(), "db, second step on " + ops);
            return first;
        }
    }

    static int[][] append(int[][] list, int[] item) {
        int[][] l = java.util.Arrays.copyOf(list, list.length + 1);
        l[list.length] = item;
        return l;
    }

    static float[] random(Rng rng, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) rng.nextGaussian();
        return f;
    }
}
