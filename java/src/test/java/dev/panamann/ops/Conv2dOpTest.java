package dev.panamann.ops;

import dev.panamann.testutil.NumGrad;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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

class Conv2dOpTest {
    /** Gradient error tolerance (see {@link NumGrad#error}); measured errors are ~1e-5. */
    static final double TOL = 1e-3;

    /** n, c, h, w, f, k, stride, pad. */
    static final int[][] GEOMETRIES = {
        {2, 3, 5, 6, 4, 3, 1, 1},   // same-size output, non-square
        {1, 1, 7, 5, 2, 3, 2, 0},   // N=1, C=1, stride 2
        {2, 5, 6, 7, 3, 7, 1, 3},   // odd channels, 7x7 kernel larger than the input, pad 3
        {1, 2, 4, 9, 5, 1, 1, 0},   // 1x1 kernel, odd filter count
        {2, 3, 8, 7, 3, 3, 2, 1},   // stride 2, pad 1, last input row unused
        {3, 2, 6, 6, 1, 3, 2, 0},   // one filter, last row and column unused
        {1, 3, 3, 3, 2, 3, 2, 3},   // pad 3 on a 3x3 input
    };

    static ConvGeometry geometry(int[] a) {
        return new ConvGeometry(a[0], a[1], a[2], a[3], a[4], a[5], a[5], a[6], a[7]);
    }

    static Stream<Arguments> cases() {
        Stream.Builder<Arguments> b = Stream.builder();
        for (String backend : NumGrad.backends()) {
            for (int[] g : GEOMETRIES) b.add(Arguments.of(backend, geometry(g)));
        }
        return b.build();
    }

    static Stream<Arguments> geometries() {
        return Stream.of(GEOMETRIES).map(g -> Arguments.of(geometry(g)));
    }

    /** Inputs of one test: x, w, b, dout and result buffers. */
    static final class Data implements AutoCloseable {
        final Tensor x, w, b, dout, out, dx, dw, db;

        Data(ConvGeometry g, long seed) {
            Rng rng = new Rng(seed);
            x = Tensor.randn(rng, 1f, g.inputShape());
            w = Tensor.randn(rng, 1f, g.weightShape());
            b = Tensor.randn(rng, 1f, g.f());
            dout = Tensor.randn(rng, 1f, g.outputShape());
            out = Tensor.zeros(g.outputShape());
            dx = Tensor.zeros(g.inputShape());
            dw = Tensor.zeros(g.weightShape());
            db = Tensor.zeros(g.f());
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {x, w, b, dout, out, dx, dw, db}) t.close();
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void gradientsMatchCenteredDifferences(String backend, ConvGeometry g) {
        Ops ops = NumGrad.ops(backend);
        try (Conv2dOp op = ops.conv2d(g); Data d = new Data(g, 17)) {
            op.forward(d.x, d.w, d.b, d.out);
            op.backward(d.x, d.w, d.dout, d.dx, d.dw, d.db);
            java.util.function.DoubleSupplier loss = () -> {
                op.forward(d.x, d.w, d.b, d.out);
                return NumGrad.dot(d.out, d.dout);
            };
            NumGrad.assertGrad(backend + " dx", d.dx.toArray(), NumGrad.numeric(d.x, loss), TOL);
            NumGrad.assertGrad(backend + " dw", d.dw.toArray(), NumGrad.numeric(d.w, loss), TOL);
            NumGrad.assertGrad(backend + " db", d.db.toArray(), NumGrad.numeric(d.b, loss), TOL);
        }
    }

    /** The check is not a rubber stamp: classic mistakes in a gradient fail it. */
    @Test
    void gradientCheckCatchesWrongGradients() {
        ConvGeometry g = geometry(GEOMETRIES[0]);
        try (Conv2dOp op = Backs.java().conv2d(g); Data d = new Data(g, 5)) {
            op.forward(d.x, d.w, d.b, d.out);
            op.backward(d.x, d.w, d.dout, d.dx, d.dw, d.db);
            java.util.function.DoubleSupplier loss = () -> {
                op.forward(d.x, d.w, d.b, d.out);
                return NumGrad.dot(d.out, d.dout);
            };
            double[] num = NumGrad.numeric(d.w, loss);
            float[] dw = d.dw.toArray();
            assertTrue(NumGrad.error(dw, num) < TOL);
            // convolution instead of correlation: the kernel flipped
            float[] flipped = dw.clone();
            int k = g.kh();
            for (int fc = 0; fc < g.f() * g.c(); fc++) {
                for (int i = 0; i < k * k; i++) flipped[fc * k * k + i] = dw[fc * k * k + (k * k - 1 - i)];
            }
            assertTrue(NumGrad.error(flipped, num) > 0.1, "flipped kernel passed: " + NumGrad.error(flipped, num));
            // 1% too large everywhere
            float[] scaled = dw.clone();
            for (int i = 0; i < scaled.length; i++) scaled[i] *= 1.01f;
            assertTrue(NumGrad.error(scaled, num) > TOL, "scaled gradient passed: " + NumGrad.error(scaled, num));
            // one element off by 1% of the gradient's scale
            float[] one = dw.clone();
            double scale = 0;
            for (double v : num) scale = Math.max(scale, Math.abs(v));
            one[7] += (float) (0.01 * scale);
            assertTrue(NumGrad.error(one, num) > TOL, "one wrong element passed: " + NumGrad.error(one, num));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("geometries")
    void nativeAgreesWithJava(ConvGeometry g) {
        Ops nat = Backs.nativeOps();
        try (Conv2dOp jop = Backs.java().conv2d(g); Conv2dOp nop = nat.conv2d(g);
             Data j = new Data(g, 99); Data n = new Data(g, 99)) {
            assertForwardAndBackwardAgree(jop, j, nop, n);
        }
    }

    /** Runs forward and backward of both ops on equal data; every result agrees to 1e-5. */
    static void assertForwardAndBackwardAgree(Conv2dOp jop, Data j, Conv2dOp nop, Data n) {
        jop.forward(j.x, j.w, j.b, j.out);
        nop.forward(n.x, n.w, n.b, n.out);
        jop.backward(j.x, j.w, j.dout, j.dx, j.dw, j.db);
        nop.backward(n.x, n.w, n.dout, n.dx, n.dw, n.db);
        NumGrad.assertAgree("out", j.out.toArray(), n.out.toArray(), 1e-5);
        NumGrad.assertAgree("dx", j.dx.toArray(), n.dx.toArray(), 1e-5);
        NumGrad.assertAgree("dw", j.dw.toArray(), n.dw.toArray(), 1e-5);
        NumGrad.assertAgree("db", j.db.toArray(), n.db.toArray(), 1e-5);
    }

    /** The plain-layout switch (for measuring what oneDNN's own layouts gain) computes the same. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("geometries")
    void plainLayoutAgreesWithJava(ConvGeometry g) {
        Ops nat = Backs.nativeOps();
        System.setProperty("panamann.dnnl.convLayout", "plain");
        try (Conv2dOp jop = Backs.java().conv2d(g); Conv2dOp nop = nat.conv2d(g);
             Data j = new Data(g, 98); Data n = new Data(g, 98)) {
            System.clearProperty("panamann.dnnl.convLayout");
            assertForwardAndBackwardAgree(jop, j, nop, n);
        } finally {
            System.clearProperty("panamann.dnnl.convLayout");
        }
    }

    @Test
    void unknownLayoutSettingIsRejected() {
        Ops nat = Backs.nativeOps();
        System.setProperty("panamann.dnnl.convLayout", "blocked");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> nat.conv2d(new ConvGeometry(1, 1, 4, 4, 1, 3, 3, 1, 1)));
            assertTrue(e.getMessage().contains("blocked"), e.getMessage());
        } finally {
            System.clearProperty("panamann.dnnl.convLayout");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void planReuseGivesSameResultsAndOverwritesGradients(String backend) {
        Ops ops = NumGrad.ops(backend);
        ConvGeometry g = geometry(GEOMETRIES[4]);
        try (Conv2dOp op = ops.conv2d(g); Data a = new Data(g, 1); Data b = new Data(g, 2)) {
            op.forward(a.x, a.w, a.b, a.out);
            op.backward(a.x, a.w, a.dout, a.dx, a.dw, a.db);
            float[] out1 = a.out.toArray(), dx1 = a.dx.toArray(), dw1 = a.dw.toArray(), db1 = a.db.toArray();
            op.forward(b.x, b.w, b.b, b.out);
            op.backward(b.x, b.w, b.dout, b.dx, b.dw, b.db);
            // again on the first inputs, into the same (now dirty) buffers: identical, nothing accumulated
            op.forward(a.x, a.w, a.b, a.out);
            op.backward(a.x, a.w, a.dout, a.dx, a.dw, a.db);
            op.backward(a.x, a.w, a.dout, a.dx, a.dw, a.db);
            assertArrayEquals(out1, a.out.toArray());
            assertArrayEquals(dx1, a.dx.toArray());
            assertArrayEquals(dw1, a.dw.toArray());
            assertArrayEquals(db1, a.db.toArray());
            // dx may be skipped; dw and db are the same
            a.dw.fill(0f);
            a.db.fill(0f);
            op.backward(a.x, a.w, a.dout, null, a.dw, a.db);
            assertArrayEquals(dw1, a.dw.toArray());
            assertArrayEquals(db1, a.db.toArray());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void badShapesAreRejectedBeforeNativeCalls(String backend) {
        Ops ops = NumGrad.ops(backend);
        ConvGeometry g = new ConvGeometry(2, 3, 8, 8, 4, 3, 3, 1, 1);
        try (Conv2dOp op = ops.conv2d(g); Data d = new Data(g, 3);
             Tensor x1 = Tensor.zeros(2, 1, 8, 8); Tensor wT = Tensor.zeros(4, 3, 3); Tensor b5 = Tensor.zeros(5)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> op.forward(x1, d.w, d.b, d.out));
            assertTrue(e.getMessage().contains("[2, 3, 8, 8]") && e.getMessage().contains("[2, 1, 8, 8]"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> op.forward(d.x, wT, d.b, d.out));
            assertThrows(IllegalArgumentException.class, () -> op.forward(d.x, d.w, b5, d.out));
            assertThrows(IllegalArgumentException.class, () -> op.backward(d.x, d.w, d.x, d.dx, d.dw, d.db));
            assertThrows(IllegalArgumentException.class, () -> op.backward(d.x, d.w, d.dout, d.out, d.dw, d.db));
            Tensor closed = Tensor.zeros(g.inputShape());
            closed.close();
            assertThrows(IllegalStateException.class, () -> op.forward(closed, d.w, d.b, d.out));
            assertThrows(IllegalStateException.class, () -> op.backward(d.x, d.w, d.dout, closed, d.dw, d.db));
            op.close();
            IllegalStateException c = assertThrows(IllegalStateException.class, () -> op.forward(d.x, d.w, d.b, d.out));
            assertTrue(c.getMessage().contains("closed"), c.getMessage());
        }
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                () -> ops.conv2d(new ConvGeometry(1, 1, 4, 4, 1, 7, 7, 1, 1)));
        assertTrue(big.getMessage().contains("larger than the padded input"), big.getMessage());
    }

    @Test
    void knownValues() {
        // 1 image, 1 channel 3x3 of 1..9, one 2x2 filter of ones, bias 0.5, stride 1, pad 0
        ConvGeometry g = new ConvGeometry(1, 1, 3, 3, 1, 2, 2, 1, 0);
        for (String backend : NumGrad.backends()) {
            try (Conv2dOp op = NumGrad.ops(backend).conv2d(g);
                 Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
                 Tensor w = Tensor.full(1f, 1, 1, 2, 2); Tensor b = Tensor.full(0.5f, 1);
                 Tensor out = Tensor.zeros(1, 1, 2, 2)) {
                op.forward(x, w, b, out);
                assertArrayEquals(new float[] {12.5f, 16.5f, 24.5f, 28.5f}, out.toArray(), backend);
                assertEquals(1, op.geometry().n());
            }
        }
    }
}
