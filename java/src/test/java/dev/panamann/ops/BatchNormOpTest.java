package dev.panamann.ops;

import dev.panamann.testutil.NumGrad;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class BatchNormOpTest {
    static final double TOL = 1e-3;
    static final float EPS = 1e-5f;

    /** Input shapes: (N, D) for the 1-D form, (N, C, H, W) for the spatial one. */
    static final int[][] SHAPES = {
        {4, 5},         // 1-D
        {3, 1},         // 1-D, one feature
        {7, 3},         // 1-D, odd sizes
        {6, 37},        // 1-D, whole vectors of channels and a tail
        {2, 3, 4, 5},   // spatial, non-square
        {1, 3, 2, 3},   // spatial, N=1 (statistics over H*W)
        {3, 1, 2, 2},   // spatial, C=1
        {2, 5, 1, 3},   // spatial, odd C
    };

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (String backend : NumGrad.backends()) {
            for (int[] s : SHAPES) b.add(Arguments.of(backend, s));
        }
        return b.build();
    }

    static Stream<Arguments> shapes() {
        return Stream.of(SHAPES).map(s -> Arguments.of((Object) s));
    }

    static int spatial(int[] shape) { return shape.length == 4 ? shape[2] * shape[3] : 1; }

    /** x ~ N(0.5, 1.5^2), gamma, beta, dout random, running stats and buffers. */
    static final class Data implements AutoCloseable {
        final int c;
        final Tensor x, gamma, beta, dout, out, dx, dgamma, dbeta, rm, rv;

        Data(int[] shape, long seed) {
            Rng rng = new Rng(seed);
            c = shape[1];
            x = Tensor.randn(rng, 1.5f, shape);
            for (long i = 0; i < x.size(); i++) x.setFlat(i, x.getFlat(i) + 0.5f);
            gamma = Tensor.randn(rng, 1f, c);
            beta = Tensor.randn(rng, 1f, c);
            dout = Tensor.randn(rng, 1f, shape);
            out = Tensor.zeros(shape);
            dx = Tensor.zeros(shape);
            dgamma = Tensor.zeros(c);
            dbeta = Tensor.zeros(c);
            rm = Tensor.randn(rng, 0.1f, c);
            rv = Tensor.uniform(rng, 0.5f, 1.5f, c);
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {x, gamma, beta, dout, out, dx, dgamma, dbeta, rm, rv}) t.close();
        }
    }

    static BatchNormOp plan(Ops ops, int[] shape) {
        return ops.batchNorm(shape[0], shape[1], spatial(shape), EPS);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void gradientsMatchCenteredDifferences(String backend, int[] shape) {
        try (BatchNormOp op = plan(NumGrad.ops(backend), shape); Data d = new Data(shape, 23)) {
            op.forward(d.x, d.gamma, d.beta, d.out, d.rm, d.rv, 0.9f, true);
            op.backward(d.x, d.gamma, d.dout, d.dx, d.dgamma, d.dbeta);
            DoubleSupplier loss = () -> {
                op.forward(d.x, d.gamma, d.beta, d.out, d.rm, d.rv, 0.9f, true);
                return NumGrad.dot(d.out, d.dout);
            };
            NumGrad.assertGrad(backend + " dx", d.dx.toArray(), NumGrad.numeric(d.x, loss), TOL);
            NumGrad.assertGrad(backend + " dgamma", d.dgamma.toArray(), NumGrad.numeric(d.gamma, loss), TOL);
            NumGrad.assertGrad(backend + " dbeta", d.dbeta.toArray(), NumGrad.numeric(d.beta, loss), TOL);
        }
    }

    /** The check catches the classic mistake of treating mean and variance as constants in dx. */
    @Test
    void gradientCheckCatchesWrongGradients() {
        int[] shape = {5, 4};
        try (BatchNormOp op = plan(Backs.java(), shape); Data d = new Data(shape, 8)) {
            op.forward(d.x, d.gamma, d.beta, d.out, d.rm, d.rv, 0.9f, true);
            op.backward(d.x, d.gamma, d.dout, d.dx, d.dgamma, d.dbeta);
            double[] num = NumGrad.numeric(d.x, () -> {
                op.forward(d.x, d.gamma, d.beta, d.out, d.rm, d.rv, 0.9f, true);
                return NumGrad.dot(d.out, d.dout);
            });
            assertTrue(NumGrad.error(d.dx.toArray(), num) < TOL);
            // dx = gamma * dout / sqrt(var + eps): statistics treated as constants
            float[] wrong = new float[num.length];
            for (int j = 0; j < 4; j++) {
                double mean = 0, var = 0;
                for (int i = 0; i < 5; i++) mean += d.x.get(i, j) / 5.0;
                for (int i = 0; i < 5; i++) var += Math.pow(d.x.get(i, j) - mean, 2) / 5.0;
                for (int i = 0; i < 5; i++) wrong[i * 4 + j] = (float) (d.gamma.get(j) * d.dout.get(i, j) / Math.sqrt(var + EPS));
            }
            assertTrue(NumGrad.error(wrong, num) > 0.1, "constant-statistics dx passed: " + NumGrad.error(wrong, num));
            float[] scaled = d.dx.toArray();
            for (int i = 0; i < scaled.length; i++) scaled[i] *= 1.01f;
            assertTrue(NumGrad.error(scaled, num) > TOL, "scaled dx passed: " + NumGrad.error(scaled, num));
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void forwardMatchesDefinitionAndUpdatesRunningStats(String backend, int[] shape) {
        try (BatchNormOp op = plan(NumGrad.ops(backend), shape); Data d = new Data(shape, 31)) {
            int n = shape[0], c = shape[1], s = spatial(shape);
            float[] x = d.x.toArray(), rm0 = d.rm.toArray(), rv0 = d.rv.toArray();
            float momentum = 0.8f;
            op.forward(d.x, d.gamma, d.beta, d.out, d.rm, d.rv, momentum, true);
            float[] out = d.out.toArray();
            for (int ch = 0; ch < c; ch++) {
                double mean = 0, var = 0;
                for (int i = 0; i < n; i++) for (int k = 0; k < s; k++) mean += x[(i * c + ch) * s + k];
                mean /= n * s;
                for (int i = 0; i < n; i++) for (int k = 0; k < s; k++) var += Math.pow(x[(i * c + ch) * s + k] - mean, 2);
                var /= n * s;   // biased
                for (int i = 0; i < n; i++) {
                    for (int k = 0; k < s; k++) {
                        int idx = (i * c + ch) * s + k;
                        double want = d.gamma.get(ch) * (x[idx] - mean) / Math.sqrt(var + EPS) + d.beta.get(ch);
                        assertEquals(want, out[idx], 1e-4 * (1 + Math.abs(want)), backend + " out[" + idx + "]");
                    }
                }
                assertEquals(momentum * rm0[ch] + (1 - momentum) * mean, d.rm.get(ch), 1e-5, backend + " running mean");
                assertEquals(momentum * rv0[ch] + (1 - momentum) * var, d.rv.get(ch), 1e-4 * (1 + var), backend + " running var");
            }
            // eval: the running statistics, untouched
            float[] rm = d.rm.toArray(), rv = d.rv.toArray();
            op.forward(d.x, d.gamma, d.beta, d.out, d.rm, d.rv, momentum, false);
            assertArrayEquals(rm, d.rm.toArray());
            assertArrayEquals(rv, d.rv.toArray());
            out = d.out.toArray();
            for (int i = 0; i < x.length; i++) {
                int ch = (i / s) % c;
                double want = d.gamma.get(ch) * (x[i] - rm[ch]) / Math.sqrt(rv[ch] + EPS) + d.beta.get(ch);
                assertEquals(want, out[i], 1e-4 * (1 + Math.abs(want)), backend + " eval out[" + i + "]");
            }
        }
    }

    /**
     * Data far from zero (mean 1000, std 1) must still come out with mean 0 and variance 1: in
     * the spatial form and in (N, D) rows, whose loops sum in float (512 rows).
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("largeOffsetCases")
    void largeOffsetsAreNormalizedAccurately(String backend, int[] shape) {
        try (BatchNormOp op = plan(NumGrad.ops(backend), shape); Data d = new Data(shape, 5)) {
            for (long i = 0; i < d.x.size(); i++) d.x.setFlat(i, 1000f + (d.x.getFlat(i) - 0.5f) / 1.5f);
            d.gamma.fill(1f);
            d.beta.fill(0f);
            op.forward(d.x, d.gamma, d.beta, d.out, d.rm, d.rv, 0.9f, true);
            float[] out = d.out.toArray();
            int n = shape[0], c = shape[1], s = spatial(shape);
            for (int ch = 0; ch < c; ch++) {
                double sum = 0, sq = 0;
                for (int i = 0; i < n; i++) {
                    for (int k = 0; k < s; k++) {
                        double v = out[(i * c + ch) * s + k];
                        sum += v;
                        sq += v * v;
                    }
                }
                assertEquals(0, sum / (n * s), 1e-3, backend + " mean of channel " + ch);
                assertEquals(1, sq / (n * s), 2e-3, backend + " variance of channel " + ch);
            }
        }
    }

    static Stream<Arguments> largeOffsetCases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (String backend : NumGrad.backends()) {
            b.add(Arguments.of(backend, new int[] {16, 3, 4, 4}));
            b.add(Arguments.of(backend, new int[] {512, 5}));
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("shapes")
    void nativeAgreesWithJava(int[] shape) {
        Ops nat = Backs.nativeOps();
        try (BatchNormOp jop = plan(Backs.java(), shape); BatchNormOp nop = plan(nat, shape);
             Data j = new Data(shape, 77); Data n = new Data(shape, 77)) {
            jop.forward(j.x, j.gamma, j.beta, j.out, j.rm, j.rv, 0.9f, true);
            nop.forward(n.x, n.gamma, n.beta, n.out, n.rm, n.rv, 0.9f, true);
            NumGrad.assertAgree("train out", j.out.toArray(), n.out.toArray(), 1e-5);
            NumGrad.assertAgree("running mean", j.rm.toArray(), n.rm.toArray(), 1e-6);
            NumGrad.assertAgree("running var", j.rv.toArray(), n.rv.toArray(), 1e-6);
            jop.backward(j.x, j.gamma, j.dout, j.dx, j.dgamma, j.dbeta);
            nop.backward(n.x, n.gamma, n.dout, n.dx, n.dgamma, n.dbeta);
            NumGrad.assertAgree("dx", j.dx.toArray(), n.dx.toArray(), 1e-5);
            NumGrad.assertAgree("dgamma", j.dgamma.toArray(), n.dgamma.toArray(), 1e-5);
            NumGrad.assertAgree("dbeta", j.dbeta.toArray(), n.dbeta.toArray(), 1e-5);
            jop.forward(j.x, j.gamma, j.beta, j.out, j.rm, j.rv, 0.9f, false);
            nop.forward(n.x, n.gamma, n.beta, n.out, n.rm, n.rv, 0.9f, false);
            NumGrad.assertAgree("eval out", j.out.toArray(), n.out.toArray(), 1e-5);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void planReuseGivesSameResults(String backend) {
        int[] shape = SHAPES[3];
        try (BatchNormOp op = plan(NumGrad.ops(backend), shape); Data a = new Data(shape, 1); Data b = new Data(shape, 2)) {
            op.forward(a.x, a.gamma, a.beta, a.out, a.rm, a.rv, 0.9f, true);
            op.backward(a.x, a.gamma, a.dout, a.dx, a.dgamma, a.dbeta);
            float[] out1 = a.out.toArray(), dx1 = a.dx.toArray(), dg1 = a.dgamma.toArray(), db1 = a.dbeta.toArray();
            op.forward(b.x, b.gamma, b.beta, b.out, b.rm, b.rv, 0.9f, true);
            op.backward(b.x, b.gamma, b.dout, b.dx, b.dgamma, b.dbeta);
            op.forward(a.x, a.gamma, a.beta, a.out, a.rm, a.rv, 0.9f, true);
            // an eval forward in between must not change what backward uses
            op.forward(b.x, b.gamma, b.beta, b.out, b.rm, b.rv, 0.9f, false);
            op.backward(a.x, a.gamma, a.dout, a.dx, a.dgamma, a.dbeta);
            op.backward(a.x, a.gamma, a.dout, a.dx, a.dgamma, a.dbeta);
            assertArrayEquals(out1, a.out.toArray());
            assertArrayEquals(dx1, a.dx.toArray());
            assertArrayEquals(dg1, a.dgamma.toArray());
            assertArrayEquals(db1, a.dbeta.toArray());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void badInputIsRejected(String backend) {
        Ops ops = NumGrad.ops(backend);
        int[] shape = {4, 3};
        try (BatchNormOp op = plan(ops, shape); Data d = new Data(shape, 4); Tensor x4 = Tensor.zeros(4, 4);
             Tensor g2 = Tensor.zeros(2)) {
            IllegalStateException st = assertThrows(IllegalStateException.class,
                    () -> op.backward(d.x, d.gamma, d.dout, d.dx, d.dgamma, d.dbeta));
            assertTrue(st.getMessage().contains("before a training forward"), st.getMessage());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> op.forward(x4, d.gamma, d.beta, d.out, d.rm, d.rv, 0.9f, true));
            assertTrue(e.getMessage().contains("[4, 4]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> op.forward(d.x, g2, d.beta, d.out, d.rm, d.rv, 0.9f, true));
            assertThrows(IllegalArgumentException.class, () -> op.forward(d.x, d.gamma, d.beta, d.out, g2, d.rv, 0.9f, true));
            Tensor closed = Tensor.zeros(shape);
            closed.close();
            assertThrows(IllegalStateException.class, () -> op.forward(closed, d.gamma, d.beta, d.out, d.rm, d.rv, 0.9f, true));
            op.close();
            assertThrows(IllegalStateException.class, () -> op.forward(d.x, d.gamma, d.beta, d.out, d.rm, d.rv, 0.9f, false));
        }
        // a batch of one has no variance: rejected in training, fine in eval
        try (BatchNormOp op = ops.batchNorm(1, 3, 1, EPS); Data d = new Data(new int[] {1, 3}, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> op.forward(d.x, d.gamma, d.beta, d.out, d.rm, d.rv, 0.9f, true));
            assertTrue(e.getMessage().contains("N=1"), e.getMessage());
            op.forward(d.x, d.gamma, d.beta, d.out, d.rm, d.rv, 0.9f, false);
        }
        assertThrows(IllegalArgumentException.class, () -> ops.batchNorm(0, 3, 1, EPS));
        assertThrows(IllegalArgumentException.class, () -> ops.batchNorm(2, 3, 1, 0f));
    }
}
