package dev.panamann.ops.dnnl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panamann.bindings.omp.omp_h;
import dev.panamann.bindings.openblas.openblas_h;
import dev.panamann.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * OpenMP's thread count is per calling thread and OpenBLAS keeps a global one besides: two
 * backends with different counts taking turns on one thread (a data-parallel replica's
 * one-thread backend and the model's own) each run with their own count.
 */
class ThreadCountTest {

    @Test
    void twoBackendsTakingTurnsOnOneThreadEachRunWithTheirCount() throws Exception {
        Assumptions.assumeTrue(NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative"), "native libraries not installed");
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(() -> {
            try (NativeOps one = new NativeOps(1); NativeOps two = new NativeOps(2);
                 Tensor a = Tensor.full(1f, 8, 8); Tensor c = Tensor.zeros(8, 8)) {
                for (int round = 0; round < 3; round++) {
                    for (NativeOps ops : new NativeOps[] {two, one}) {
                        ops.gemm(false, false, 8, 8, 8, 1f, a.segment(), a.segment(), 0f, c.segment());
                        assertEquals(ops.threads(), omp_h.omp_get_max_threads(), "OpenMP count after a call of the " + ops.threads() + "-thread backend");
                        assertEquals(ops.threads(), openblas_h.openblas_get_num_threads(), "OpenBLAS count after a call of the " + ops.threads() + "-thread backend");
                        assertEquals(8f, c.getFlat(0));
                    }
                }
                two.setThreads(1);
                two.beforeNativeCall();
                assertEquals(1, omp_h.omp_get_max_threads());
            }
        });
        t.setUncaughtExceptionHandler((th, e) -> failure[0] = e);
        t.start();
        t.join();
        if (failure[0] != null) throw new AssertionError(failure[0]);
    }
}
