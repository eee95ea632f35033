package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** The Vector API pass of the L2 term against the scalar loops. */
class L2PassTest {

    @Test
    void theVectorPassIsSelectedWhenTheModuleIsThere() {
        assertInstanceOf(VectorL2.class, L2.pass(), "tests run with --add-modules jdk.incubator.vector");
    }

    @Test
    void vectorPassEqualsTheScalarLoops() {
        Rng rng = new Rng(3);
        for (int n : new int[] {0, 1, 7, 16, 17, 33, 1000, 4099}) {
            try (Tensor w = Tensor.randn(rng, 2f, Math.max(1, n)); Tensor g0 = Tensor.randn(rng, 1f, Math.max(1, n));
                 Tensor gs = g0.copy(); Tensor gv = g0.copy()) {
                w.set(3e-39f, 0); // a subnormal weight too
                double scalar = L2.SCALAR.apply(0.37f, w.segment(), gs.segment(), n);
                double vector = new VectorL2().apply(0.37f, w.segment(), gv.segment(), n);
                assertArrayEquals(gs.toArray(), gv.toArray(), 0f, "gradient, n = " + n + " (the same bits)");
                double exact = 0;
                for (int i = 0; i < n; i++) exact += (double) w.getFlat(i) * w.getFlat(i);
                assertEquals(exact, vector, 1e-12 * exact, "sum of squares, n = " + n);
                // the scalar loop rounds each square to float (the subnormal's square to 0)
                assertEquals(scalar, vector, 1e-6 * exact + Float.MIN_NORMAL, "scalar sum, n = " + n);
            }
        }
    }
}
