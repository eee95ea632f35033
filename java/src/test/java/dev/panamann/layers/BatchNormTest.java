package dev.panamann.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.testutil.NumGrad;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class BatchNormTest {

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (String backend : NumGrad.backends()) {
            b.add(Arguments.of(backend, new int[] {6, 4}));
            b.add(Arguments.of(backend, new int[] {2, 3, 3, 4}));
            b.add(Arguments.of(backend, new int[] {1, 2, 2, 3}));
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void layerGradientsMatchCenteredDifferences(String backend, int[] shape) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(12);
        int c = shape[1];
        try (BatchNorm bn = new BatchNorm(ops, c); Tensor x = Tensor.randn(rng, 2f, shape);
             Tensor dout = Tensor.randn(rng, 1f, shape); Tensor g = Tensor.randn(rng, 1f, c); Tensor bt = Tensor.randn(rng, 1f, c)) {
            bn.gamma().value().copyFrom(g);
            bn.beta().value().copyFrom(bt);
            bn.forward(x, Mode.TRAIN);
            float[] dx = bn.backward(dout).toArray();
            float[] dg = bn.gamma().grad().toArray(), db = bn.beta().grad().toArray();
            DoubleSupplier loss = () -> NumGrad.dot(bn.forward(x, Mode.TRAIN), dout);
            NumGrad.assertGrad(backend + " dx", dx, NumGrad.numeric(x, loss), 1e-3);
            NumGrad.assertGrad(backend + " dgamma", dg, NumGrad.numeric(bn.gamma().value(), loss), 1e-3);
            NumGrad.assertGrad(backend + " dbeta", db, NumGrad.numeric(bn.beta().value(), loss), 1e-3);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void trainNormalizesAndTracksRunningStatisticsEvalUsesThem(String backend) {
        Ops ops = NumGrad.ops(backend);
        try (BatchNorm bn = new BatchNorm(ops, 2, 1e-5f, 0.9f);
             Tensor x = Tensor.of(new float[] {1, 10, 3, 20, 5, 30, 7, 40}, 4, 2)) {
            // before any training the running statistics (0, 1) make EVAL nearly the identity
            float[] id = bn.forward(x, Mode.EVAL).toArray();
            for (int i = 0; i < 8; i++) assertEquals(x.getFlat(i), id[i], 1e-4 * Math.abs(x.getFlat(i)));
            Tensor out = bn.forward(x, Mode.TRAIN);
            // column 0: mean 4, biased var 5; column 1: mean 25, var 125
            double s0 = Math.sqrt(5 + 1e-5), s1 = Math.sqrt(125 + 1e-5);
            assertArrayEquals(new float[] {(float) (-3 / s0), (float) (-15 / s1), (float) (-1 / s0), (float) (-5 / s1),
                (float) (1 / s0), (float) (5 / s1), (float) (3 / s0), (float) (15 / s1)}, out.toArray(), 1e-5f);
            assertArrayEquals(new float[] {0.4f, 2.5f}, bn.runningMean().toArray(), 1e-5f);
            assertArrayEquals(new float[] {0.9f + 0.5f, 0.9f + 12.5f}, bn.runningVar().toArray(), 1e-4f);
            bn.forward(x, Mode.TRAIN);
            assertArrayEquals(new float[] {0.76f, 4.75f}, bn.runningMean().toArray(), 1e-5f);
            // EVAL with the running statistics, which it leaves alone
            bn.runningMean().copyFrom(new float[] {1, 2});
            bn.runningVar().copyFrom(new float[] {4, 9});
            bn.gamma().value().copyFrom(new float[] {2, 1});
            bn.beta().value().copyFrom(new float[] {0, 1});
            float[] ev = bn.forward(x, Mode.EVAL).toArray();
            assertEquals(2 * (1 - 1) / Math.sqrt(4 + 1e-5), ev[0], 1e-5);
            assertEquals((10 - 2) / Math.sqrt(9 + 1e-5) + 1, ev[1], 1e-5);
            assertEquals(2 * (7 - 1) / Math.sqrt(4 + 1e-5), ev[6], 1e-5);
            assertArrayEquals(new float[] {1, 2}, bn.runningMean().toArray());
        }
    }

    @Test
    void backendsAgreeOverSeveralSteps() {
        Ops nat = Backs.nativeOps();
        try (BatchNorm j = new BatchNorm(Backs.java(), 5, 1e-5f, 0.8f); BatchNorm n = new BatchNorm(nat, 5, 1e-5f, 0.8f)) {
            Rng rng = new Rng(8);
            for (int step = 0; step < 3; step++) {
                try (Tensor x = Tensor.randn(rng, 3f, 4, 5, 3, 3); Tensor dout = Tensor.randn(rng, 1f, 4, 5, 3, 3)) {
                    NumGrad.assertAgree("out", j.forward(x, Mode.TRAIN).toArray(), n.forward(x, Mode.TRAIN).toArray(), 1e-5);
                    NumGrad.assertAgree("dx", j.backward(dout).toArray(), n.backward(dout).toArray(), 1e-5);
                    NumGrad.assertAgree("dgamma", j.gamma().grad().toArray(), n.gamma().grad().toArray(), 1e-5);
                    NumGrad.assertAgree("dbeta", j.beta().grad().toArray(), n.beta().grad().toArray(), 1e-5);
                }
            }
            NumGrad.assertAgree("running mean", j.runningMean().toArray(), n.runningMean().toArray(), 1e-6);
            NumGrad.assertAgree("running var", j.runningVar().toArray(), n.runningVar().toArray(), 1e-6);
            try (Tensor x = Tensor.randn(rng, 3f, 2, 5, 3, 3)) {
                NumGrad.assertAgree("eval", j.forward(x, Mode.EVAL).toArray(), n.forward(x, Mode.EVAL).toArray(), 1e-5);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void batchOfOneInTrainModeIsRejected(String backend) {
        Ops ops = NumGrad.ops(backend);
        try (BatchNorm bn = new BatchNorm(ops, 3); Tensor one = Tensor.randn(new Rng(1), 1f, 1, 3);
             Tensor onePixel = Tensor.randn(new Rng(1), 1f, 1, 3, 1, 1); Tensor oneImage = Tensor.randn(new Rng(1), 1f, 1, 3, 2, 2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bn.forward(one, Mode.TRAIN));
            assertTrue(e.getMessage().contains("batch of 1") && e.getMessage().contains("[1, 3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> bn.forward(onePixel, Mode.TRAIN));
            assertTrue(e.getMessage().contains("N*H*W = 1"), e.getMessage());
            // fine: EVAL of a single sample, and TRAIN over the 4 pixels of a single image
            assertTrue(bn.forward(one, Mode.EVAL).hasShape(1, 3));
            assertTrue(bn.forward(oneImage, Mode.TRAIN).hasShape(1, 3, 2, 2));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void badInputGivesClearErrors(String backend) {
        Ops ops = NumGrad.ops(backend);
        try (BatchNorm bn = new BatchNorm(ops, 4); Tensor wrong = Tensor.zeros(3, 5); Tensor rank3 = Tensor.zeros(3, 4, 2);
             Tensor x = Tensor.randn(new Rng(2), 1f, 3, 4); Tensor dout = Tensor.zeros(3, 5)) {
            assertThrows(IllegalStateException.class, () -> bn.backward(x));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bn.forward(wrong, Mode.TRAIN));
            assertTrue(e.getMessage().contains("4 features") && e.getMessage().contains("[3, 5]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> bn.forward(rank3, Mode.TRAIN));
            bn.forward(x, Mode.TRAIN);
            e = assertThrows(IllegalArgumentException.class, () -> bn.backward(dout));
            assertTrue(e.getMessage().contains("[3, 5]"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new BatchNorm(ops, 0));
        assertThrows(IllegalArgumentException.class, () -> new BatchNorm(ops, 3, 0f, 0.9f));
    }

    @Test
    void paramsBuffersAndNames() {
        try (BatchNorm bn = new BatchNorm(Backs.java(), 3);
             BatchNorm named = new BatchNorm(Backs.java(), 3, 1e-5f, 0.9f, "gamma1", "beta1");
             Tensor x = Tensor.randn(new Rng(3), 1f, 5, 3)) {
            assertEquals("gamma", bn.params().get(0).name());
            assertEquals("beta", bn.params().get(1).name());
            assertEquals("gamma1", named.params().get(0).name());
            assertEquals("beta1", named.params().get(1).name());
            assertFalse(bn.gamma().regularized());
            assertFalse(bn.beta().regularized());
            assertArrayEquals(new float[] {1, 1, 1}, bn.gamma().value().toArray());
            assertArrayEquals(new float[] {0, 0, 0}, bn.beta().value().toArray());
            assertArrayEquals(new float[] {0, 0, 0}, bn.runningMean().toArray());
            assertArrayEquals(new float[] {1, 1, 1}, bn.runningVar().toArray());
            assertEquals(1e-5f, bn.eps());
            assertEquals(0.9f, bn.momentum());
            Tensor o1 = bn.forward(x, Mode.TRAIN);
            assertSame(o1, bn.forward(x, Mode.EVAL));
            Tensor d1 = bn.backward(x);
            bn.forward(x, Mode.TRAIN);
            assertSame(d1, bn.backward(x));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void givenParametersAndRunningStatisticsAreUsedInEval(String backend) {
        Ops ops = NumGrad.ops(backend);
        float[] g = {2f, 0.5f, -1f}, bt = {0.1f, -0.2f, 0.3f}, mean = {1f, -2f, 0.5f}, var = {4f, 0.25f, 1f};
        float eps = 1e-3f;
        Tensor gamma = Tensor.of(g, 3), beta = Tensor.of(bt, 3), rm = Tensor.of(mean, 3), rv = Tensor.of(var, 3);
        try (BatchNorm bn = new BatchNorm(ops, gamma, beta, rm, rv, eps, 0.8f, "bn.weight", "bn.bias");
             Tensor x = Tensor.randn(new Rng(3), 2f, 2, 3, 2, 2)) {
            assertSame(gamma, bn.gamma().value(), "the given tensor is the parameter (no copy)");
            assertSame(rm, bn.runningMean());
            assertSame(rv, bn.runningVar());
            assertEquals("bn.weight", bn.gamma().name());
            assertEquals(3, bn.numFeatures());
            assertEquals(0.8f, bn.momentum());
            float[] xs = x.toArray(), out = bn.forward(x, Mode.EVAL).toArray();
            float[] expected = new float[xs.length];
            for (int i = 0; i < xs.length; i++) {
                int c = (i / 4) % 3;
                expected[i] = (float) (g[c] * (xs[i] - mean[c]) / Math.sqrt(var[c] + eps) + bt[c]);
            }
            NumGrad.assertAgree(backend + " eval with given statistics", expected, out, 1e-5);
            assertArrayEquals(mean, rm.toArray(), "EVAL leaves the running statistics alone");
            bn.forward(x, Mode.TRAIN);
            assertFalse(java.util.Arrays.equals(mean, rm.toArray()), "TRAIN updates the given running mean");
        }
        assertTrue(gamma.isClosed() && beta.isClosed() && rm.isClosed() && rv.isClosed(), "the layer owns what it was given");
    }

    @Test
    void badGivenStatisticsAreRejectedAndNotTaken() {
        Ops ops = Backs.java();
        try (Tensor g = Tensor.full(1f, 3); Tensor b = Tensor.zeros(3); Tensor m = Tensor.zeros(3); Tensor v = Tensor.full(1f, 3);
             Tensor v4 = Tensor.full(1f, 4); Tensor neg = Tensor.of(new float[] {1, -1, 1}, 3);
             Tensor g2 = Tensor.full(1f, 3, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new BatchNorm(ops, g, b, m, v4, 1e-5f, 0.9f));
            assertTrue(e.getMessage().contains("[3]") && e.getMessage().contains("[4]") && e.getMessage().contains("running variance"),
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new BatchNorm(ops, g2, b, m, v, 1e-5f, 0.9f));
            assertTrue(e.getMessage().contains("[3, 1]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new BatchNorm(ops, g, b, m, neg, 1e-5f, 0.9f));
            assertTrue(e.getMessage().contains("element 1 is -1.0"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new BatchNorm(ops, g, b, m, v, 0f, 0.9f));
            assertTrue(e.getMessage().contains("eps"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new BatchNorm(ops, g, b, m, v, 1e-5f, 1.5f));
            assertTrue(e.getMessage().contains("momentum"), e.getMessage());
            assertFalse(g.isClosed() || v.isClosed(), "rejected tensors stay the caller's");
        }
    }
}
