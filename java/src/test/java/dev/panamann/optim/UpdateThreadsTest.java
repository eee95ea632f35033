package dev.panamann.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.dnnl.NativeLibraries;
import dev.panamann.ops.dnnl.NativeOps;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@link UpdateThreads#tryRun}: every part runs at the same time on a thread of its own, part 0
 * on the caller; it declines (running nothing) with too few threads, inside a run, and while
 * another thread uses the workers; a split step inside a part runs on that part's thread alone.
 */
class UpdateThreadsTest {
    private final int threadsBefore = UpdateThreads.threads();

    @AfterEach
    void restoreThreads() {
        UpdateThreads.setThreads(threadsBefore);
    }

    /**
     * A worker that spins for its next part leaves the core to OpenMP when a native call starts a
     * region on two threads (its thread is woken on that core), and keeps spinning through a
     * product small enough to run on the calling thread alone.
     */
    @Test
    void aNativeCallOnTwoThreadsEndsTheWorkersSpin() throws Exception {
        Assumptions.assumeTrue(NativeLibraries.available() || Boolean.getBoolean("panamann.requireNative"), "native libraries not installed");
        UpdateThreads.setThreads(2);
        long lingerBefore = UpdateThreads.setLingerNanos(TimeUnit.MINUTES.toNanos(1)); // spins through the test unless stopped
        try (NativeOps ops = new NativeOps(2);
             Tensor a = Tensor.zeros(256, 256); Tensor b = Tensor.zeros(256, 256); Tensor c = Tensor.zeros(256, 256);
             Tensor small = Tensor.zeros(16, 16); Tensor smallOut = Tensor.zeros(16, 16)) {
            ops.gemm(false, false, 256, 256, 256, 1f, a, b, 0f, c); // the OpenMP team exists before the worker spins
            AtomicReference<Thread> worker = new AtomicReference<>();
            assertTrue(UpdateThreads.tryRun(2, (part, parts) -> {
                if (part == 1) worker.set(Thread.currentThread());
            }));
            Thread w = worker.get();
            ops.gemm(false, false, 16, 16, 16, 1f, small, small, 0f, smallOut); // on the calling thread alone
            Thread.sleep(200);
            assertEquals(Thread.State.RUNNABLE, w.getState(), "the worker spins for its next part");
            ops.gemm(false, false, 256, 256, 256, 1f, a, b, 0f, c); // 16.8 M multiply-adds: on both threads
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (w.getState() != Thread.State.WAITING && System.nanoTime() < deadline) Thread.sleep(1);
            assertEquals(Thread.State.WAITING, w.getState(), "the worker parked after the two-thread product");
        } finally {
            UpdateThreads.setLingerNanos(lingerBefore);
        }
    }

    @Test
    void everyPartRunsAtOnceOnAThreadOfItsOwn() throws Exception {
        UpdateThreads.setThreads(3);
        for (int round = 0; round < 5; round++) { // also after the workers lingered or parked
            AtomicReferenceArray<Thread> ran = new AtomicReferenceArray<>(3);
            CountDownLatch all = new CountDownLatch(3);
            boolean[] timedOut = new boolean[1];
            assertTrue(UpdateThreads.tryRun(3, (part, parts) -> {
                assertEquals(3, parts);
                ran.set(part, Thread.currentThread());
                all.countDown();
                try { // each part waits for the others: they must run at the same time
                    if (!all.await(10, TimeUnit.SECONDS)) timedOut[0] = true;
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }));
            assertFalse(timedOut[0], "the parts did not run at the same time");
            assertSame(Thread.currentThread(), ran.get(0));
            assertTrue(ran.get(1) != ran.get(2) && ran.get(1) != ran.get(0) && ran.get(2) != ran.get(0));
            assertTrue(ran.get(1).getName().startsWith("panama-nn worker"), ran.get(1).getName());
            if (round == 2) Thread.sleep(5); // longer than a worker lingers
        }
    }

    @Test
    void declinesWithTooFewThreadsAndInsideARun() {
        UpdateThreads.setThreads(2);
        int[] ran = {0};
        assertFalse(UpdateThreads.tryRun(3, (part, parts) -> ran[0]++));
        assertEquals(0, ran[0]);
        boolean[] inner = {true, true};
        assertTrue(UpdateThreads.tryRun(2, (part, parts) -> inner[part] = UpdateThreads.tryRun(1, (p, n) -> {})));
        assertFalse(inner[0], "a run from the caller's part");
        assertFalse(inner[1], "a run from a worker's part");
    }

    @Test
    void declinesWhileAnotherThreadUsesTheWorkers() throws Exception {
        UpdateThreads.setThreads(2);
        CountDownLatch started = new CountDownLatch(1), release = new CountDownLatch(1);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread other = new Thread(() -> {
            try {
                UpdateThreads.tryRun(2, (part, parts) -> {
                    if (part != 0) return;
                    started.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                });
            } catch (Throwable t) {
                failed.set(t);
            }
        });
        other.start();
        try {
            assertTrue(started.await(10, TimeUnit.SECONDS));
            assertFalse(UpdateThreads.tryRun(2, (part, parts) -> {}));
        } finally {
            release.countDown();
            other.join();
        }
        assertEquals(null, failed.get());
        assertTrue(UpdateThreads.tryRun(2, (part, parts) -> {}));
    }

    /** A failing part is rethrown to the caller once all parts are done; the threads stay usable. */
    @Test
    void aFailingPartIsRethrown() {
        UpdateThreads.setThreads(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> UpdateThreads.tryRun(2, (part, parts) -> {
            if (part == 1) throw new IllegalArgumentException("part 1 failed");
        }));
        assertEquals("part 1 failed", e.getMessage());
        assertTrue(UpdateThreads.tryRun(2, (part, parts) -> {}));
    }

    /**
     * An optimizer step and an L2 penalty large enough to be split, started inside the parts
     * of a run, run on their part's thread alone and give the results they give outside a run.
     */
    @Test
    void splitStepsInsideARunRunAlone() {
        UpdateThreads.setThreads(2);
        Param[] inside = {param(1), param(2)}, outside = {param(1), param(2)};
        Optimizer[] in = {adam(), adam()}, out = {adam(), adam()};
        try {
            double[] penalty = new double[2];
            assertTrue(UpdateThreads.tryRun(2, (part, parts) -> {
                List<Param> one = List.of(inside[part]);
                penalty[part] = L2Penalty.apply(one, 1e-2f);
                in[part].step(one);
            }));
            for (int i = 0; i < 2; i++) {
                List<Param> one = List.of(outside[i]);
                assertEquals(L2Penalty.apply(one, 1e-2f), penalty[i], 0.0);
                out[i].step(one);
                assertArrayEquals(outside[i].value().toArray(), inside[i].value().toArray());
            }
        } finally {
            for (Param p : inside) p.close();
            for (Param p : outside) p.close();
            for (Optimizer o : in) o.close();
            for (Optimizer o : out) o.close();
        }
    }

    private static Optimizer adam() { return Optimizers.create("adam", Map.of("learning_rate", 1e-3)); }

    /** A param over {@link Optimizer#SPLIT_MIN_ELEMENTS} elements with a random value and gradient. */
    private static Param param(long seed) {
        Rng rng = new Rng(seed);
        Param p = new Param("W", Tensor.randn(rng, 1f, 2 * Optimizer.SPLIT_MIN_ELEMENTS + 5), true);
        try (Tensor g = Tensor.randn(rng, 1f, 2 * Optimizer.SPLIT_MIN_ELEMENTS + 5)) {
            p.grad().copyFrom(g);
        }
        return p;
    }
}
