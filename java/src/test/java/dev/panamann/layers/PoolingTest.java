package dev.panamann.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.testutil.NumGrad;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PoolingTest {

    static Layer pool(Ops ops, boolean max, int kernel, int stride) {
        return max ? new MaxPool2d(ops, kernel, stride) : new AvgPool2d(ops, kernel, stride);
    }

    /** Distinct values 0.07 apart, so a finite-difference step never moves a maximum. */
    static Tensor distinct(Rng rng, int... shape) {
        Tensor t = Tensor.zeros(shape);
        int[] perm = rng.permutation(t.sizeInt());
        for (int i = 0; i < perm.length; i++) t.setFlat(i, (perm[i] - perm.length / 2f) * 0.07f);
        return t;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void layerGradientsMatchCenteredDifferences(String backend) {
        Ops ops = NumGrad.ops(backend);
        for (boolean max : new boolean[] {true, false}) {
            Rng rng = new Rng(9);
            try (Layer p = pool(ops, max, 3, 2); Tensor x = distinct(rng, 2, 3, 7, 9);
                 Tensor dout = Tensor.randn(rng, 1f, 2, 3, 3, 4)) {
                Tensor out = p.forward(x, Mode.TRAIN);
                assertTrue(out.hasShape(2, 3, 3, 4), out.shapeString());
                float[] dx = p.backward(dout).toArray();
                double[] num = NumGrad.numeric(x, () -> NumGrad.dot(p.forward(x, Mode.EVAL), dout));
                NumGrad.assertGrad(backend + (max ? " max" : " avg"), dx, num, 1e-3);
            }
        }
    }

    @Test
    void backendsAgreeThroughTheLayers() {
        Ops nat = Backs.nativeOps();
        for (boolean max : new boolean[] {true, false}) {
            try (Layer j = pool(Backs.java(), max, 2, 2); Layer n = pool(nat, max, 2, 2);
                 Tensor x = Tensor.randn(new Rng(1), 1f, 3, 4, 8, 6); Tensor dout = Tensor.randn(new Rng(2), 1f, 3, 4, 4, 3)) {
                assertArrayEquals(j.forward(x, Mode.TRAIN).toArray(), n.forward(x, Mode.TRAIN).toArray(), 1e-6f);
                assertArrayEquals(j.backward(dout).toArray(), n.backward(dout).toArray(), 1e-6f);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void buffersAreReusedAndShapesReplanned(String backend) {
        Ops ops = NumGrad.ops(backend);
        for (boolean max : new boolean[] {true, false}) {
            try (Layer p = pool(ops, max, 2, 2); Tensor a = Tensor.randn(new Rng(3), 1f, 2, 2, 4, 4);
                 Tensor b = Tensor.randn(new Rng(4), 1f, 1, 2, 6, 4)) {
                Tensor o1 = p.forward(a, Mode.TRAIN);
                float[] first = o1.toArray();
                assertSame(o1, p.forward(a, Mode.TRAIN));
                Tensor o2 = p.forward(b, Mode.TRAIN);
                assertTrue(o2.hasShape(1, 2, 3, 2), o2.shapeString());
                assertTrue(o1.isClosed());
                assertArrayEquals(first, p.forward(a, Mode.TRAIN).toArray());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void badInputGivesClearErrors(String backend) {
        Ops ops = NumGrad.ops(backend);
        for (boolean max : new boolean[] {true, false}) {
            try (Layer p = pool(ops, max, 3, 2); Tensor x = Tensor.randn(new Rng(3), 1f, 2, 2, 4, 4);
                 Tensor tiny = Tensor.zeros(2, 2, 2, 5); Tensor flat = Tensor.zeros(2, 16);
                 Tensor dout = Tensor.zeros(2, 2, 1, 1)) {
                IllegalStateException st = assertThrows(IllegalStateException.class, () -> p.backward(dout));
                assertTrue(st.getMessage().contains("TRAIN forward"), st.getMessage());
                p.forward(x, Mode.EVAL);
                assertThrows(IllegalStateException.class, () -> p.backward(dout), "an EVAL forward is not enough");
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.forward(tiny, Mode.TRAIN));
                assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
                e = assertThrows(IllegalArgumentException.class, () -> p.forward(flat, Mode.TRAIN));
                assertTrue(e.getMessage().contains("[2, 16]"), e.getMessage());
            }
            assertThrows(IllegalArgumentException.class, () -> pool(ops, max, 0, 2));
        }
    }
}
