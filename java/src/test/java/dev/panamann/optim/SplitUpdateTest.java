package dev.panamann.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The chunked, multi-threaded step of the built-in rules against each rule's own scalar loop
 * ({@link Optimizer#update}, checked against the formulas in {@link OptimizerTest}): the
 * results must agree to the bit, whatever the thread count and however the parameters split.
 */
class SplitUpdateTest {
    private final int threadsBefore = UpdateThreads.threads();

    @AfterEach
    void restoreThreads() {
        UpdateThreads.setThreads(threadsBefore);
    }

    /** Sizes: one large parameter (not a multiple of the chunk or of 16) and small ones. */
    static final int[][] SHAPES = {{181, 191}, {337}, {3, 5}, {1}};

    @Test
    void splitStepsEqualTheScalarLoopToTheBit() {
        for (int threads : new int[] {1, 2, 3}) {
            UpdateThreads.setThreads(threads);
            for (String rule : Optimizers.RULES) checkAgainstScalarLoop(rule, threads);
        }
    }

    /**
     * The same with each kind of loop: the Vector API loops in place (Adam, SGD-momentum, SGD; the
     * tests run with the module) and the chunked heap-array loops ({@code panamann.java.vector=off}).
     */
    @Test
    void vectorAndChunkedLoopsEqualTheScalarLoopToTheBit() {
        assertEquals("vector", dev.panamann.ops.java.GemmKernel.fromSettings().name().substring(0, 6),
                "tests run with --add-modules jdk.incubator.vector");
        String before = System.getProperty("panamann.java.vector");
        try {
            for (String setting : new String[] {"on", "off"}) {
                System.setProperty("panamann.java.vector", setting);
                for (int threads : new int[] {1, 2}) {
                    UpdateThreads.setThreads(threads);
                    checkAgainstScalarLoop("adam", threads);
                    checkAgainstScalarLoop("sgd_momentum", threads);
                    checkAgainstScalarLoop("sgd", threads);
                }
            }
        } finally {
            if (before == null) System.clearProperty("panamann.java.vector");
            else System.setProperty("panamann.java.vector", before);
        }
    }

    @Test
    void theVectorLoopsAreSelectedByTheSetting() {
        String before = System.getProperty("panamann.java.vector");
        try {
            System.setProperty("panamann.java.vector", "off");
            assertEquals(null, UpdateLoops.fromSettings());
            System.setProperty("panamann.java.vector", "auto");
            assertEquals(true, UpdateLoops.fromSettings().name().startsWith("vector ("));
        } finally {
            if (before == null) System.clearProperty("panamann.java.vector");
            else System.setProperty("panamann.java.vector", before);
        }
    }

    @Test
    void everyUpdateThreadFlushesSubnormals() {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.panamann.ops.Denormals.active(), "flush-to-zero off or unsupported");
        UpdateThreads.setThreads(2);
        float sub = Float.MIN_NORMAL / 4;
        try (Optimizer sgd = Optimizers.create("sgd", Map.of("learning_rate", 1.0));
             Param p = new Param("w", Tensor.zeros(181, 191), true)) {
            p.grad().fill(sub);
            sgd.step(List.of(p));
            // w = 0 - 1 * sub is subnormal: zero on every part when each thread flushes
            float[] w = p.value().toArray();
            for (int i = 0; i < w.length; i++) assertEquals(0f, Math.abs(w[i]), "element " + i + " of " + w.length);
        }
    }

    private static void checkAgainstScalarLoop(String rule, int threads) {
        Rng rng = new Rng(7);
        try (Optimizer split = Optimizers.create(rule, Map.of("learning_rate", 1e-2));
             Optimizer scalar = Optimizers.create(rule, Map.of("learning_rate", 1e-2))) {
            Param[] ps = new Param[SHAPES.length], refs = new Param[SHAPES.length];
            try {
                for (int i = 0; i < SHAPES.length; i++) {
                    ps[i] = new Param("p" + i, Tensor.randn(rng, 1f, SHAPES[i]), true);
                    refs[i] = new Param("p" + i, Tensor.zeros(SHAPES[i]), true);
                    refs[i].value().copyFrom(ps[i].value());
                }
                List<Param> list = List.of(ps);
                assertEquals(true, 181 * 191 >= Optimizer.SPLIT_MIN_ELEMENTS, "the large param must take the split path");
                split.prepare(list);
                scalar.prepare(List.of(refs));
                for (int step = 1; step <= 5; step++) {
                    for (int i = 0; i < ps.length; i++) {
                        try (Tensor g = Tensor.randn(rng, 0.1f * step, SHAPES[i])) {
                            ps[i].grad().copyFrom(g);
                            refs[i].grad().copyFrom(g);
                        }
                    }
                    split.step(list);
                    for (Param r : refs) {
                        MemorySegment[] state = new MemorySegment[scalar.slotNames().size()];
                        for (int j = 0; j < state.length; j++) state[j] = scalar.slot(r, scalar.slotNames().get(j)).segment();
                        scalar.update(r.value().segment(), r.grad().segment(), state, step, r.value().sizeInt());
                    }
                    for (int i = 0; i < ps.length; i++) {
                        String what = rule + ", " + threads + " threads, step " + step + ", " + ps[i].name();
                        assertArrayEquals(refs[i].value().toArray(), ps[i].value().toArray(), 0f, what);
                        for (String slot : split.slotNames()) {
                            assertArrayEquals(scalar.slot(refs[i], slot).toArray(), split.slot(ps[i], slot).toArray(), 0f,
                                    what + " " + slot);
                        }
                        assertEquals(step, split.steps(ps[i]), what);
                    }
                }
            } finally {
                for (Param p : ps) if (p != null) p.close();
                for (Param p : refs) if (p != null) p.close();
            }
        }
    }

    /** The same parameter twice in one list is stepped twice, one after the other. */
    @Test
    void aRepeatedParamIsSteppedTwiceInOrder() {
        UpdateThreads.setThreads(2);
        try (Optimizer a = new Adam(1e-2); Optimizer b = new Adam(1e-2);
             Param p = new Param("W", Tensor.full(0.5f, 300, 300), true);
             Param q = new Param("W", Tensor.full(0.5f, 300, 300), true)) {
            p.grad().fill(0.25f);
            q.grad().fill(0.25f);
            a.step(List.of(p, p));
            b.step(q);
            b.step(q);
            assertArrayEquals(q.value().toArray(), p.value().toArray(), 0f);
            assertEquals(2, a.steps(p));
        }
    }

    /** Memory confined to the calling thread cannot go to the workers: the step runs on the caller. */
    @Test
    void threadConfinedParamsAreUpdatedOnTheCallingThread() {
        UpdateThreads.setThreads(2);
        int n = 200 * 200;
        try (Arena confined = Arena.ofConfined(); Optimizer opt = new SgdMomentum(0.1, 0.9)) {
            Tensor w = Tensor.wrap(confined.allocate((long) n * Float.BYTES, 64), n);
            w.fill(1f);
            Param p = new Param("W", w, true);
            p.grad().fill(2f);
            opt.step(List.of(p));
            opt.step(List.of(p));
            // v1 = -0.2, w1 = 0.8; v2 = 0.9 * -0.2 - 0.2 = -0.38, w2 = 0.42
            assertEquals(0.42f, p.value().toArray()[n - 1], 1e-6f);
            p.grad().close();
        }
    }

    /** A closed gradient fails before anything is updated. */
    @Test
    void aClosedGradFailsBeforeAnyUpdate() {
        UpdateThreads.setThreads(2);
        try (Optimizer opt = new Adam(1e-2);
             Param a = new Param("a", Tensor.full(0.5f, 300, 300), true);
             Param b = new Param("b", Tensor.full(0.5f, 10), true)) {
            a.grad().fill(1f);
            b.grad().close();
            assertThrows(IllegalStateException.class, () -> opt.step(List.of(a, b)));
            assertEquals(0.5f, a.value().toArray()[0]);
            assertEquals(0, opt.steps(a));
        }
    }

    @Test
    void threadCountIsChecked() {
        assertThrows(IllegalArgumentException.class, () -> UpdateThreads.setThreads(0));
    }
}
