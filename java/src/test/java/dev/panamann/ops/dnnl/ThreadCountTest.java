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
 * one-thread backend and the model's own) each run with their own count, and two backends of
 * different counts multiplying on OpenBLAS at the same time on two threads get right products
 * ({@link BlasGate}).
 */
class ThreadCountTest {

    @Test
    void twoBackendsTakingTurnsOnOneThreadEachRunWithTheirCount() throws Exception {
        Assumptions.assumeTrue(NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative"), "native libraries not installed");
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(() -> {
            try (NativeOps one = new NativeOps(1, "openblas"); NativeOps two = new NativeOps(2, "openblas");
                 Tensor a = Tensor.full(1f, 8, 8); Tensor c = Tensor.zeros(8, 8)) {
                for (int round = 0; round < 3; round++) {
                    for (NativeOps ops : new NativeOps[] {two, one}) {
                        ops.gemm(false, false, 8, 8, 8, 1f, a.segment(), a.segment(), 0f, c.segment());
                        assertEquals(ops.threads(), omp_h.omp_get_max_threads(), "OpenMP count after a call of the " + ops.threads() + "-thread backend");
                        // OpenBLAS's global count is set for its products of 2+ threads; the OpenMP
                        // build runs a caller of OpenMP count 1 alone whatever that count is
                        if (ops.threads() > 1) {
                            assertEquals(ops.threads(), openblas_h.openblas_get_num_threads(), "OpenBLAS count after a call of the " + ops.threads() + "-thread backend");
                        }
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

    /**
     * Backends of 2 and 4 threads multiplying on OpenBLAS at the same time, each on a thread of
     * its own, for about three seconds: every product equals that thread's first one. OpenBLAS
     * frees the work buffers beyond its count whenever the count changes; without the gate the
     * 4-thread side got a wrong product at its first call here.
     */
    @Test
    void backendsOfDifferentCountsMultiplyRightAtTheSameTime() throws Exception {
        Assumptions.assumeTrue(NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative"), "native libraries not installed");
        int[] counts = {2, 4};
        Throwable[] failure = new Throwable[counts.length];
        long[] calls = new long[counts.length];
        long end = System.nanoTime() + 3_000_000_000L;
        Thread[] threads = new Thread[counts.length];
        for (int i = 0; i < counts.length; i++) {
            int id = i;
            threads[i] = new Thread(() -> {
                int m = 256, n = 300, k = 1024;
                try (NativeOps ops = new NativeOps(counts[id], "openblas"); Tensor a = Tensor.randn(new dev.panamann.tensor.Rng(1), 1f, m, k);
                     Tensor b = Tensor.randn(new dev.panamann.tensor.Rng(2), 1f, k, n); Tensor first = Tensor.zeros(m, n); Tensor c = Tensor.zeros(m, n)) {
                    ops.gemm(false, false, m, n, k, 1f, a, b, 0f, first);
                    float[] expected = first.toArray();
                    while (System.nanoTime() < end) {
                        c.fill(0f);
                        ops.gemm(false, false, m, n, k, 1f, a, b, 0f, c);
                        calls[id]++;
                        if (!java.util.Arrays.equals(expected, c.toArray())) {
                            throw new AssertionError("the " + counts[id] + "-thread backend's product " + calls[id] + " differs from its first");
                        }
                    }
                } catch (Throwable e) {
                    failure[id] = e;
                }
            });
        }
        for (Thread t : threads) t.start();
        for (Thread t : threads) t.join();
        for (Throwable f : failure) if (f != null) throw new AssertionError(f);
        for (int i = 0; i < counts.length; i++) org.junit.jupiter.api.Assertions.assertTrue(calls[i] > 10, "only " + calls[i] + " products of " + counts[i] + " threads ran");
    }
}
