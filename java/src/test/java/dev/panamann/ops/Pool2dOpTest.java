package dev.panamann.ops;

import dev.panamann.testutil.NumGrad;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class Pool2dOpTest {
    static final double TOL = 1e-3;

    /** n, c, h, w, kernel, stride. */
    static final int[][] GEOMETRIES = {
        {2, 3, 4, 6, 2, 2},   // the usual 2x2 / 2, non-square
        {1, 1, 7, 5, 3, 2},   // N=1, C=1, overlapping windows
        {2, 5, 5, 4, 2, 1},   // odd channels, stride 1
        {1, 2, 7, 8, 3, 3},   // windows leave the last row and columns out
        {3, 2, 3, 3, 3, 1},   // window = whole input
        {2, 16, 6, 4, 2, 2},  // whole channel blocks: oneDNN pools in a blocked layout (8 or 16)
        {1, 8, 5, 7, 3, 2},   // one block of 8 on AVX2, plain NCHW on AVX-512
    };

    static PoolGeometry geometry(int[] a) {
        return new PoolGeometry(a[0], a[1], a[2], a[3], a[4], a[5]);
    }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (String backend : NumGrad.backends()) {
            for (boolean max : new boolean[] {true, false}) {
                for (int[] g : GEOMETRIES) b.add(Arguments.of(backend, max, geometry(g)));
            }
        }
        return b.build();
    }

    static Stream<Arguments> geometries() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (boolean max : new boolean[] {true, false}) {
            for (int[] g : GEOMETRIES) b.add(Arguments.of(max, geometry(g)));
        }
        return b.build();
    }

    /**
     * Distinct input values at least 0.07 apart (a shuffled ramp), so that a step of
     * {@link NumGrad#STEP} never changes which element of a window is the maximum.
     */
    static Tensor distinct(Rng rng, int... shape) {
        Tensor t = Tensor.zeros(shape);
        int[] perm = rng.permutation(t.sizeInt());
        for (int i = 0; i < perm.length; i++) t.setFlat(i, (perm[i] - perm.length / 2f) * 0.07f);
        return t;
    }

    @ParameterizedTest(name = "{0} max={1} {2}")
    @MethodSource("cases")
    void gradientsMatchCenteredDifferences(String backend, boolean max, PoolGeometry g) {
        Rng rng = new Rng(11);
        try (Pool2dOp op = NumGrad.ops(backend).pool2d(g, max);
             Tensor x = distinct(rng, g.inputShape()); Tensor dout = Tensor.randn(rng, 1f, g.outputShape());
             Tensor out = Tensor.zeros(g.outputShape()); Tensor dx = Tensor.full(Float.NaN, g.inputShape())) {
            op.forward(x, out, true);
            op.backward(x, dout, dx);
            double[] num = NumGrad.numeric(x, () -> {
                op.forward(x, out, false);
                return NumGrad.dot(out, dout);
            });
            NumGrad.assertGrad(backend + (max ? " max" : " avg") + " dx", dx.toArray(), num, TOL);
        }
    }

    @ParameterizedTest(name = "max={0} {1}")
    @MethodSource("geometries")
    void nativeAgreesWithJava(boolean max, PoolGeometry g) {
        Ops nat = Backs.nativeOps();
        Rng rng = new Rng(3);
        try (Pool2dOp jop = Backs.java().pool2d(g, max); Pool2dOp nop = nat.pool2d(g, max);
             Tensor x = Tensor.randn(rng, 1f, g.inputShape()); Tensor dout = Tensor.randn(rng, 1f, g.outputShape());
             Tensor jo = Tensor.zeros(g.outputShape()); Tensor no = Tensor.zeros(g.outputShape());
             Tensor jdx = Tensor.zeros(g.inputShape()); Tensor ndx = Tensor.zeros(g.inputShape())) {
            jop.forward(x, jo, false);
            nop.forward(x, no, false);
            NumGrad.assertAgree("eval out", jo.toArray(), no.toArray(), 1e-6);
            jop.forward(x, jo, true);
            nop.forward(x, no, true);
            NumGrad.assertAgree("train out", jo.toArray(), no.toArray(), 1e-6);
            jop.backward(x, dout, jdx);
            nop.backward(x, dout, ndx);
            NumGrad.assertAgree("dx", jdx.toArray(), ndx.toArray(), 1e-6);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void planReuseAndEvalForwardKeepTheTrainingArgmax(String backend) {
        PoolGeometry g = geometry(GEOMETRIES[1]);
        Rng rng = new Rng(5);
        Ops ops = NumGrad.ops(backend);
        for (boolean max : new boolean[] {true, false}) {
            try (Pool2dOp op = ops.pool2d(g, max);
                 Tensor x1 = Tensor.randn(rng, 1f, g.inputShape()); Tensor x2 = Tensor.randn(rng, 1f, g.inputShape());
                 Tensor dout = Tensor.randn(rng, 1f, g.outputShape());
                 Tensor out = Tensor.zeros(g.outputShape()); Tensor dx = Tensor.zeros(g.inputShape())) {
                op.forward(x1, out, true);
                float[] out1 = out.toArray();
                op.backward(x1, dout, dx);
                float[] dx1 = dx.toArray();
                // an eval forward on other data must not disturb what backward uses
                op.forward(x2, out, false);
                dx.fill(7f);
                op.backward(x1, dout, dx);
                assertArrayEquals(dx1, dx.toArray(), backend + " max=" + max);
                op.forward(x2, out, true);
                op.forward(x1, out, true);
                assertArrayEquals(out1, out.toArray());
                op.backward(x1, dout, dx);
                assertArrayEquals(dx1, dx.toArray());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void badInputIsRejected(String backend) {
        Ops ops = NumGrad.ops(backend);
        PoolGeometry g = new PoolGeometry(2, 3, 4, 4, 2, 2);
        try (Pool2dOp op = ops.pool2d(g, true);
             Tensor x = Tensor.zeros(g.inputShape()); Tensor out = Tensor.zeros(g.outputShape());
             Tensor dx = Tensor.zeros(g.inputShape()); Tensor wrong = Tensor.zeros(2, 4, 4, 4)) {
            IllegalStateException st = assertThrows(IllegalStateException.class, () -> op.backward(x, out, dx));
            assertTrue(st.getMessage().contains("before a training forward"), st.getMessage());
            op.forward(x, out, false);
            assertThrows(IllegalStateException.class, () -> op.backward(x, out, dx), "eval forward is not enough");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> op.forward(wrong, out, true));
            assertTrue(e.getMessage().contains("[2, 4, 4, 4]") && e.getMessage().contains("[2, 3, 4, 4]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> op.forward(x, dx, true));
            Tensor closed = Tensor.zeros(g.outputShape());
            closed.close();
            assertThrows(IllegalStateException.class, () -> op.forward(x, closed, true));
            op.close();
            assertThrows(IllegalStateException.class, () -> op.forward(x, out, true));
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ops.pool2d(new PoolGeometry(1, 1, 3, 5, 4, 2), true));
        assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
    }

    @Test
    void knownValues() {
        PoolGeometry g = new PoolGeometry(1, 1, 2, 4, 2, 2);
        for (String backend : NumGrad.backends()) {
            for (boolean max : new boolean[] {true, false}) {
                try (Pool2dOp op = NumGrad.ops(backend).pool2d(g, max);
                     Tensor x = Tensor.of(new float[] {1, 5, -2, -3, 4, 2, -1, -4}, 1, 1, 2, 4);
                     Tensor out = Tensor.zeros(1, 1, 1, 2); Tensor dout = Tensor.of(new float[] {10, 20}, 1, 1, 1, 2);
                     Tensor dx = Tensor.zeros(1, 1, 2, 4)) {
                    op.forward(x, out, true);
                    op.backward(x, dout, dx);
                    if (max) {
                        assertArrayEquals(new float[] {5, -1}, out.toArray(), backend);
                        assertArrayEquals(new float[] {0, 10, 0, 0, 0, 0, 20, 0}, dx.toArray(), backend);
                    } else {
                        assertArrayEquals(new float[] {3, -2.5f}, out.toArray(), backend);
                        assertArrayEquals(new float[] {2.5f, 2.5f, 5, 5, 2.5f, 2.5f, 5, 5}, dx.toArray(), backend);
                    }
                }
            }
        }
    }
}
