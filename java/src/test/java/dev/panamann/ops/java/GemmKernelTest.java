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
        // rows around the 4-row tile, n around one and two vectors (8 and 16 floats) and the column block
        // (and k past the dot-product block of 512 and the threshold of the transposed path)
        int[][] shapes = new int[0][];
        for (int rows : new int[] {1, 3, 4, 5, 9}) {
            for (int n : new int[] {1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 129, 300}) {
                for (int k : new int[] {1, 37, 300}) shapes = append(shapes, new int[] {rows, n, k});
            }
        }
        for (int[] extra : new int[][] {{5, 33, 257}, {4, 3, 1100}, {9, 17, 1100}, {1, 1, 1025}}) shapes = append(shapes, extra);
        Rng rng = new Rng(5);
        for (int[] shape : shapes) {
            int rows = shape[0], n = shape[1], k = shape[2];
            {
                {
                    float[] a = random(rng, rows * k), b = random(rng, k * n), c0 = random(rng, rows * n);
                    float[] bt = new float[n * k];
                    for (int p = 0; p < k; p++) for (int j = 0; j < n; j++) bt[j * k + p] = b[p * n + j];
                    float[] cv = c0.clone(), cs = c0.clone(), cvt = c0.clone(), cst = c0.clone();
                    v.multiplyAdd(a, b, cv, rows, n, k);
                    s.multiplyAdd(a, b, cs, rows, n, k);
                    v.multiplyAddTransposed(a, bt, cvt, rows, n, k);
                    s.multiplyAddTransposed(a, bt, cst, rows, n, k);
                    for (int i = 0; i < rows; i++) {
                        for (int j = 0; j < n; j++) {
                            double ref = c0[i * n + j];
                            for (int p = 0; p < k; p++) ref += (double) a[i * k + p] * b[p * n + j];
                            double tol = 1e-5 * (k + 1) * 4;
                            String where = rows + "x" + n + "x" + k + " at (" + i + ", " + j + ")";
                            assertEquals(ref, cv[i * n + j], tol, "vector " + where);
                            assertEquals(ref, cs[i * n + j], tol, "scalar " + where);
                            assertEquals(ref, cvt[i * n + j], tol, "vector, b transposed " + where);
                            assertEquals(ref, cst[i * n + j], tol, "scalar, b transposed " + where);
                        }
                    }
                }
            }
        }
    }

    @Test
    void kernelLeavesArraysBeyondTheMatricesAlone() {
        float[] a = random(new Rng(1), 4 * 3 + 5), b = random(new Rng(2), 3 * 33 + 5), c = new float[4 * 33 + 7];
        java.util.Arrays.fill(c, 4 * 33, c.length, 42f);
        vector().multiplyAdd(a, b, c, 4, 33, 3);
        for (int i = 4 * 33; i < c.length; i++) assertEquals(42f, c[i]);
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
        ConvGeometry g = new ConvGeometry(2, 3, 16, 16, 32, 7, 7, 1, 3);
        Ops nat = Backs.nativeOps();
        try (JavaOps jv = new JavaOps(2, vector()); JavaOps js = new JavaOps(2, ScalarGemmKernel.INSTANCE)) {
            Rng rng = new Rng(3);
            try (Tensor x = Tensor.randn(rng, 1f, g.inputShape()); Tensor w = Tensor.randn(rng, 0.1f, g.weightShape());
                 Tensor b = Tensor.randn(rng, 1f, g.f()); Tensor dout = Tensor.randn(rng, 1f, g.outputShape())) {
                float[][] v = conv(jv, g, x, w, b, dout), s = conv(js, g, x, w, b, dout), r = conv(nat, g, x, w, b, dout);
                String[] names = {"out", "dx", "dw", "db"};
                for (int t = 0; t < 4; t++) {
                    double scale = 0;
                    for (float f : r[t]) scale = Math.max(scale, Math.abs(f));
                    for (int i = 0; i < r[t].length; i++) {
                        assertEquals(r[t][i], v[t][i], 1e-4 * scale, "vector vs native " + names[t] + " at " + i);
                        assertEquals(s[t][i], v[t][i], 1e-4 * scale, "vector vs scalar " + names[t] + " at " + i);
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
            return new float[][] {out.toArray(), dx.toArray(), dw.toArray(), db.toArray()};
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
