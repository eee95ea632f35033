package dev.panamann.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The L2 penalty pass against the plain formula: each gradient element is {@code g + reg * w}
 * to the bit, and the sum is {@code 0.5 * reg * sum(w^2)} in double, with the Vector API loop
 * and the scalar loop, on 1 to 3 threads, over sizes that end inside a block and a vector.
 */
class L2PenaltyTest {
    private final int threadsBefore = UpdateThreads.threads();

    @AfterEach
    void restoreThreads() {
        UpdateThreads.setThreads(threadsBefore);
    }

    /** One parameter over many blocks (and not a multiple of 16), one just over a block, small ones. */
    static final int[][] SHAPES = {{181, 191}, {L2Penalty.BLOCK + 3}, {337}, {3, 5}, {1}};

    @Test
    void gradientIsTheScalarExpressionAndTheSumIsTheReference() {
        UpdateLoops vector = UpdateLoops.fromSettings();
        assertNotNull(vector, "tests run with --add-modules jdk.incubator.vector");
        float reg = 3e-3f;
        Double first = null;
        for (UpdateLoops loops : new UpdateLoops[] {vector, null}) {
            for (int threads : new int[] {1, 2, 3}) {
                UpdateThreads.setThreads(threads);
                List<Param> ps = params(7);
                try {
                    float[][] w = new float[ps.size()][], g = new float[ps.size()][];
                    double ref = 0;
                    for (int i = 0; i < ps.size(); i++) {
                        w[i] = ps.get(i).value().toArray();
                        g[i] = ps.get(i).grad().toArray();
                        for (float v : w[i]) ref += (double) v * v;
                    }
                    double got = L2Penalty.apply(ps, reg, loops);
                    String where = (loops == null ? "scalar" : loops.name()) + ", " + threads + " threads";
                    assertEquals(0.5 * reg * ref, got, 1e-6 * 0.5 * reg * ref, where);
                    if (loops == vector) { // the sum does not depend on the thread count
                        if (first == null) first = got;
                        assertEquals(first, got, 0.0, where);
                    }
                    for (int i = 0; i < ps.size(); i++) {
                        float[] want = new float[w[i].length];
                        for (int j = 0; j < want.length; j++) want[j] = g[i][j] + reg * w[i][j];
                        assertArrayEquals(want, ps.get(i).grad().toArray(), where + ", " + ps.get(i).name());
                    }
                } finally {
                    ps.forEach(Param::close);
                }
            }
        }
    }

    @Test
    void publicEntryMatchesAndChecksItsArguments() {
        List<Param> a = params(3), b = params(3);
        try {
            double viaSettings = L2Penalty.apply(a, 1e-2f);
            double viaVector = L2Penalty.apply(b, 1e-2f, UpdateLoops.fromSettings());
            assertEquals(viaVector, viaSettings, 0.0);
            for (int i = 0; i < a.size(); i++) assertArrayEquals(b.get(i).grad().toArray(), a.get(i).grad().toArray());
            float[] before = a.get(0).grad().toArray();
            assertEquals(0.0, L2Penalty.apply(a, 0f));
            assertArrayEquals(before, a.get(0).grad().toArray(), "reg 0 leaves the gradients alone");
            assertThrows(IllegalArgumentException.class, () -> L2Penalty.apply(a, -1f));
            assertThrows(IllegalArgumentException.class, () -> L2Penalty.apply(a, Float.NaN));
            assertThrows(IllegalArgumentException.class, () -> L2Penalty.apply(a, Float.POSITIVE_INFINITY));
        } finally {
            a.forEach(Param::close);
            b.forEach(Param::close);
        }
        assertThrows(IllegalStateException.class, () -> L2Penalty.apply(a, 1e-2f), "closed params fail loudly");
    }

    private static List<Param> params(long seed) {
        Rng rng = new Rng(seed);
        List<Param> ps = new ArrayList<>();
        int k = 0;
        for (int[] shape : SHAPES) {
            Param p = new Param("W" + k++, Tensor.randn(rng, 1f, shape), true);
            Tensor g = Tensor.randn(rng, 1f, shape);
            p.grad().copyFrom(g);
            g.close();
            ps.add(p);
        }
        return ps;
    }
}
