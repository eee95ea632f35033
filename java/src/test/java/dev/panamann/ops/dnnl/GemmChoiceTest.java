package dev.panamann.ops.dnnl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.ops.java.JavaOps;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The library of the native backend's matrix products ({@code panamann.gemm}). */
class GemmChoiceTest {

    @Test
    void autoTakesOneDnnWhereItRunsAvx512Kernels() {
        // dnnl_cpu_isa_t: avx512_core, then its _vnni, _bf16 and _amx supersets (the bindings name the first only)
        for (int isa : new int[] {dnnl_h.dnnl_cpu_isa_avx512_core(), 0x67, 0xe7, 0x3e7}) {
            NativeOps.GemmChoice c = NativeOps.GemmChoice.of("auto", isa);
            assertTrue(c.onednn(), NativeOps.isaName(isa));
            assertEquals("auto: AVX-512", c.why());
            assertTrue(NativeOps.GemmChoice.of(null, isa).onednn(), "unset means auto");
            assertTrue(NativeOps.GemmChoice.of(" ", isa).onednn(), "blank means auto");
        }
        // avx2, avx, sse41, avx512_mic (Xeon Phi: not the AVX-512 kernels meant here), avx2_vnni
        for (int isa : new int[] {dnnl_h.dnnl_cpu_isa_avx2(), 0x3, 0x1, 0xf, 0x407}) {
            NativeOps.GemmChoice c = NativeOps.GemmChoice.of("auto", isa);
            assertFalse(c.onednn(), NativeOps.isaName(isa));
            assertEquals("auto", c.why());
        }
    }

    @Test
    void aValueThatIsSetWinsOnEveryCpu() {
        for (int isa : new int[] {0x3e7, dnnl_h.dnnl_cpu_isa_avx2()}) { // avx512_core_amx, avx2
            assertTrue(NativeOps.GemmChoice.of("onednn", isa).onednn());
            assertFalse(NativeOps.GemmChoice.of("openblas", isa).onednn());
            assertEquals("set by panamann.gemm", NativeOps.GemmChoice.of(" openblas", isa).why());
        }
    }

    @Test
    void anUnknownValueIsRejectedWithTheValuesItTakes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NativeOps.GemmChoice.of("mkl", dnnl_h.dnnl_cpu_isa_avx2()));
        assertTrue(e.getMessage().contains("panamann.gemm") && e.getMessage().contains("auto, onednn or openblas")
                && e.getMessage().contains("'mkl'"), e.getMessage());
        Assumptions.assumeTrue(NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative"));
        e = assertThrows(IllegalArgumentException.class, () -> new NativeOps(1, "OpenBLAS ").close());
        assertTrue(e.getMessage().contains("'OpenBLAS '"), e.getMessage());
    }

    /**
     * Both libraries against the Java backend on the products of a training step: the replicas'
     * affine forward (128 x 3072 times 3072 x 300), the weight gradient from a transposed
     * operand, the data gradient against a transposed weight, and a strided block (the
     * replicas' share of dW rows), each with beta 0 and 1.
     */
    @Test
    void bothLibrariesMatchTheJavaBackendOnTrainingStepShapes() {
        Assumptions.assumeTrue(NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative"));
        int[][] shapes = {{128, 300, 3072, 0, 0}, {3072, 300, 128, 1, 0}, {128, 3072, 300, 0, 1}, {64, 10, 100, 0, 0}};
        try (JavaOps java = new JavaOps(1); NativeOps dnnl = new NativeOps(2, "onednn"); NativeOps blas = new NativeOps(2, "openblas")) {
            assertTrue(dnnl.gemmOnOneDnn());
            assertTrue(dnnl.describe().contains(", gemm oneDNN (set by panamann.gemm), "), dnnl.describe());
            if (NativeOps.blasFallback() == null) {
                assertFalse(blas.gemmOnOneDnn());
                assertTrue(blas.describe().contains(", gemm OpenBLAS (set by panamann.gemm), "), blas.describe());
            }
            Rng rng = new Rng(11);
            for (int[] s : shapes) {
                int m = s[0], n = s[1], k = s[2];
                boolean ta = s[3] == 1, tb = s[4] == 1;
                for (float beta : new float[] {0f, 1f}) {
                    try (Tensor a = Tensor.randn(rng, 1f, ta ? k : m, ta ? m : k); Tensor b = Tensor.randn(rng, 1f, tb ? n : k, tb ? k : n);
                         Tensor c0 = Tensor.randn(rng, 1f, m, n); Tensor cj = c0.copy(); Tensor cd = c0.copy(); Tensor cb = c0.copy()) {
                        java.gemm(ta, tb, m, n, k, 1f, a, b, beta, cj);
                        dnnl.gemm(ta, tb, m, n, k, 1f, a, b, beta, cd);
                        blas.gemm(ta, tb, m, n, k, 1f, a, b, beta, cb);
                        float[] want = cj.toArray(), d = cd.toArray(), bl = cb.toArray();
                        double tol = 2e-5 * Math.sqrt(k) * 4;
                        for (int i = 0; i < want.length; i++) {
                            String at = m + "x" + n + "x" + k + " beta " + beta + " C[" + i + "]";
                            assertEquals(want[i], d[i], tol * (1 + Math.abs(want[i])), "oneDNN " + at);
                            assertEquals(want[i], bl[i], tol * (1 + Math.abs(want[i])), "OpenBLAS " + at);
                        }
                    }
                }
            }
            // a small product ran on this thread alone and left its OpenMP thread count as it was
            assertTrue(64L * 10 * 100 < NativeOps.ONE_THREAD_MACS && 128L * 300 * 3072 >= NativeOps.ONE_THREAD_MACS);
            try (Tensor a = Tensor.randn(rng, 1f, 64, 100); Tensor b = Tensor.randn(rng, 1f, 100, 10); Tensor c = Tensor.zeros(64, 10)) {
                dnnl.gemm(false, false, 64, 10, 100, 1f, a, b, 0f, c);
            }
            assertEquals(2, dev.panamann.bindings.omp.omp_h.omp_get_max_threads(), "the thread's OpenMP count after a small product");
            // rows [1000, 2000) of a 3072 x 300 dW, written in place with ldc = 300 (a replica's share)
            try (Tensor x = Tensor.randn(rng, 1f, 256, 3072); Tensor g = Tensor.randn(rng, 1f, 256, 300);
                 Tensor cj = Tensor.randn(rng, 1f, 3072, 300); Tensor cd = cj.copy(); Tensor cb = cj.copy()) {
                long off = 1000L * 300 * Float.BYTES;
                java.gemm(true, false, 1000, 300, 256, 1f, x.segment().asSlice(1000L * Float.BYTES), 3072, g.segment(), 300,
                        0f, cj.segment().asSlice(off), 300);
                dnnl.gemm(true, false, 1000, 300, 256, 1f, x.segment().asSlice(1000L * Float.BYTES), 3072, g.segment(), 300,
                        0f, cd.segment().asSlice(off), 300);
                blas.gemm(true, false, 1000, 300, 256, 1f, x.segment().asSlice(1000L * Float.BYTES), 3072, g.segment(), 300,
                        0f, cb.segment().asSlice(off), 300);
                float[] want = cj.toArray(), d = cd.toArray(), bl = cb.toArray();
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], d[i], 1e-3 * (1 + Math.abs(want[i])), "oneDNN strided C[" + i + "]");
                    assertEquals(want[i], bl[i], 1e-3 * (1 + Math.abs(want[i])), "OpenBLAS strided C[" + i + "]");
                }
            }
        }
    }
}
