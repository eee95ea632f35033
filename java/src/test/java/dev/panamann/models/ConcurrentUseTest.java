package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.layers.Layer;
import dev.panamann.layers.Mode;
import dev.panamann.tensor.Tensor;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The model's one-thread-at-a-time guard: a call while another thread is inside the model
 * throws instead of computing with shared buffers, close waits for the running call, and a
 * call after close throws. (The native crash case, a close racing real oneDNN calls, runs in a
 * child JVM: {@code dev.panamann.fault.FaultSuiteTest}.)
 */
class ConcurrentUseTest {

    /** A layer that passes x through but holds the calling thread until released. */
    static final class Gate implements Layer {
        final CountDownLatch entered = new CountDownLatch(1), release = new CountDownLatch(1);
        boolean closed;

        @Override
        public Tensor forward(Tensor x, Mode mode) {
            entered.countDown();
            try {
                if (!release.await(30, TimeUnit.SECONDS)) throw new AssertionError("gate never released");
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            return x;
        }

        @Override
        public Tensor backward(Tensor dout) { return dout; }

        @Override
        public void close() { closed = true; }
    }

    static final class GatedModel extends SequentialModel {
        final Gate gate;

        GatedModel() {
            super(2, 0f);
            gate = add(new Gate(), "");
        }
    }

    @Test
    void secondThreadThrowsAndCloseWaitsForTheRunningCall() throws Exception {
        GatedModel m = new GatedModel();
        try (Tensor x = Tensor.zeros(1, 2)) {
            CompletableFuture<Tensor> first = CompletableFuture.supplyAsync(() -> m.scores(x));
            assertTrue(m.gate.entered.await(10, TimeUnit.SECONDS));

            IllegalStateException busy = assertThrows(IllegalStateException.class, () -> m.scores(x));
            assertTrue(busy.getMessage().contains("one thread at a time"), busy.getMessage());
            assertThrows(IllegalStateException.class, () -> m.loss(x, new int[] {0}));

            CompletableFuture<Void> closing = CompletableFuture.runAsync(m::close);
            Thread.sleep(200);
            assertFalse(closing.isDone(), "close must wait for the running call");
            assertFalse(m.gate.closed);

            m.gate.release.countDown();
            assertEquals(x, first.get(10, TimeUnit.SECONDS));
            closing.get(10, TimeUnit.SECONDS);
            assertTrue(m.gate.closed);

            IllegalStateException after = assertThrows(IllegalStateException.class, () -> m.scores(x));
            assertTrue(after.getMessage().contains("closed"), after.getMessage());
            m.close(); // twice is fine
        }
    }

    @Test
    void sequentialUseFromTwoThreadsIsFine() throws Exception {
        GatedModel m = new GatedModel();
        m.gate.release.countDown();
        try (Tensor x = Tensor.zeros(1, 2)) {
            m.scores(x);
            assertEquals(x, CompletableFuture.supplyAsync(() -> m.scores(x)).get(10, TimeUnit.SECONDS));
        } finally {
            m.close();
        }
    }
}
