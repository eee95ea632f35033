package dev.panamann.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.testutil.NumGrad;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class Conv2dTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void layerGradientsMatchCenteredDifferences(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(1);
        try (Conv2d conv = new Conv2d(ops, 3, 4, 3, 2, 1, rng, 0.5f);
             Tensor x = Tensor.randn(rng, 1f, 2, 3, 7, 6); Tensor dout = Tensor.randn(rng, 1f, 2, 4, 4, 3)) {
            conv.bias().value().copyFrom(new float[] {0.1f, -0.2f, 0.3f, 0f});
            Tensor out = conv.forward(x, Mode.TRAIN);
            assertTrue(out.hasShape(2, 4, 4, 3), out.shapeString());
            Tensor dx = conv.backward(dout);
            DoubleSupplier loss = () -> NumGrad.dot(conv.forward(x, Mode.EVAL), dout);
            float[] dxa = dx.toArray(), dwa = conv.weight().grad().toArray(), dba = conv.bias().grad().toArray();
            NumGrad.assertGrad(backend + " dx", dxa, NumGrad.numeric(x, loss), 1e-3);
            NumGrad.assertGrad(backend + " dW", dwa, NumGrad.numeric(conv.weight().value(), loss), 1e-3);
            NumGrad.assertGrad(backend + " db", dba, NumGrad.numeric(conv.bias().value(), loss), 1e-3);
        }
    }

    @Test
    void backendsAgreeThroughTheLayer() {
        Ops nat = Backs.nativeOps();
        try (Conv2d j = new Conv2d(Backs.java(), 3, 8, 5, 1, 2, new Rng(4), 0.1f);
             Conv2d n = new Conv2d(nat, 3, 8, 5, 1, 2, new Rng(4), 0.1f);
             Tensor x = Tensor.randn(new Rng(5), 1f, 4, 3, 10, 9); Tensor dout = Tensor.randn(new Rng(6), 1f, 4, 8, 10, 9)) {
            NumGrad.assertAgree("out", j.forward(x, Mode.TRAIN).toArray(), n.forward(x, Mode.TRAIN).toArray(), 1e-5);
            NumGrad.assertAgree("dx", j.backward(dout).toArray(), n.backward(dout).toArray(), 1e-5);
            NumGrad.assertAgree("dW", j.weight().grad().toArray(), n.weight().grad().toArray(), 1e-5);
            NumGrad.assertAgree("db", j.bias().grad().toArray(), n.bias().grad().toArray(), 1e-5);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void buffersAreReusedWhileTheShapeHoldsAndReplannedWhenItChanges(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(2);
        try (Conv2d conv = new Conv2d(ops, 2, 3, 3, 1, 1, rng, 0.3f);
             Conv2d fresh = new Conv2d(ops, 2, 3, 3, 1, 1, new Rng(2), 0.3f);
             Tensor a = Tensor.randn(rng, 1f, 4, 2, 5, 5); Tensor b = Tensor.randn(rng, 1f, 2, 2, 5, 5)) {
            Tensor o1 = conv.forward(a, Mode.TRAIN);
            float[] first = o1.toArray();
            Tensor o2 = conv.forward(a, Mode.TRAIN);
            assertSame(o1, o2, "same shape: same output buffer");
            Tensor o3 = conv.forward(b, Mode.TRAIN);
            assertNotSame(o1, o3);
            assertTrue(o1.isClosed(), "the old buffer is freed on a shape change");
            assertTrue(o3.hasShape(2, 3, 5, 5), o3.shapeString());
            assertArrayEquals(fresh.forward(b, Mode.TRAIN).toArray(), o3.toArray());
            assertArrayEquals(first, conv.forward(a, Mode.TRAIN).toArray());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void inputGradientCanBeSwitchedOff(String backend) {
        Ops ops = NumGrad.ops(backend);
        try (Conv2d conv = new Conv2d(ops, 3, 4, 3, 1, 1, new Rng(7), 0.2f);
             Tensor x = Tensor.randn(new Rng(8), 1f, 2, 3, 6, 6); Tensor dout = Tensor.randn(new Rng(9), 1f, 2, 4, 6, 6)) {
            conv.forward(x, Mode.TRAIN);
            assertTrue(conv.backward(dout) != null);
            float[] dw = conv.weight().grad().toArray(), db = conv.bias().grad().toArray();
            conv.weight().zeroGrad();
            conv.bias().zeroGrad();
            assertEquals(null, conv.setInputGradient(false).backward(dout));
            assertArrayEquals(dw, conv.weight().grad().toArray());
            assertArrayEquals(db, conv.bias().grad().toArray());
        }
    }

    @Test
    void paramsAreNamedAndInitialized() {
        try (Conv2d conv = new Conv2d(Backs.java(), 3, 16, 5, 1, 2, new Rng(3), 0.01f);
             Conv2d named = new Conv2d(Backs.java(), 3, 16, 5, 1, 2, new Rng(3), 0.01f, "conv1.weight", "conv1.bias")) {
            assertEquals("W", conv.params().get(0).name());
            assertEquals("b", conv.params().get(1).name());
            assertTrue(conv.weight().regularized());
            assertFalse(conv.bias().regularized());
            assertTrue(conv.weight().value().hasShape(16, 3, 5, 5));
            assertTrue(conv.bias().value().hasShape(16));
            double sq = 0;
            float[] w = conv.weight().value().toArray();
            for (float v : w) sq += v * v;
            assertEquals(0.01, Math.sqrt(sq / w.length), 0.001, "weight std");
            for (float v : conv.bias().value().toArray()) assertEquals(0f, v);
            assertEquals("conv1.weight", named.params().get(0).name());
            assertEquals("conv1.bias", named.params().get(1).name());
            assertArrayEquals(w, named.weight().value().toArray(), "same seed, same weights");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void badInputGivesClearErrors(String backend) {
        Ops ops = NumGrad.ops(backend);
        try (Conv2d conv = new Conv2d(ops, 3, 4, 5, 1, 0, new Rng(1), 0.1f);
             Tensor gray = Tensor.zeros(2, 1, 8, 8); Tensor flat = Tensor.zeros(2, 3, 64);
             Tensor small = Tensor.zeros(2, 3, 4, 8); Tensor dout = Tensor.zeros(2, 4, 4, 4)) {
            IllegalStateException st = assertThrows(IllegalStateException.class, () -> conv.backward(dout));
            assertTrue(st.getMessage().contains("TRAIN forward"), st.getMessage());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> conv.forward(gray, Mode.TRAIN));
            assertTrue(e.getMessage().contains("3 input channels") && e.getMessage().contains("[2, 1, 8, 8]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> conv.forward(flat, Mode.TRAIN));
            assertTrue(e.getMessage().contains("[2, 3, 64]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> conv.forward(small, Mode.TRAIN));
            assertTrue(e.getMessage().contains("larger than the padded input"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new Conv2d(ops, 3, 4, 3, 0, 1, new Rng(1), 0.1f));
    }

    /** Direct cross-correlation with zero padding, for checking the layer against. */
    static float[] naiveConv(float[] x, int[] xs, float[] w, int[] ws, float[] b, int stride, int pad) {
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3], f = ws[0], kh = ws[2], kw = ws[3];
        int oh = (h + 2 * pad - kh) / stride + 1, ow = (wd + 2 * pad - kw) / stride + 1;
        float[] out = new float[n * f * oh * ow];
        for (int i = 0; i < n; i++) for (int o = 0; o < f; o++) for (int y = 0; y < oh; y++) for (int z = 0; z < ow; z++) {
            double acc = b[o];
            for (int ch = 0; ch < c; ch++) for (int ky = 0; ky < kh; ky++) for (int kx = 0; kx < kw; kx++) {
                int iy = y * stride - pad + ky, ix = z * stride - pad + kx;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc += (double) x[((i * c + ch) * h + iy) * wd + ix] * w[((o * c + ch) * kh + ky) * kw + kx];
            }
            out[((i * f + o) * oh + y) * ow + z] = (float) acc;
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void nonSquareKernelFromGivenWeights(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(21);
        for (int[] ws : new int[][] {{4, 3, 1, 3}, {2, 3, 3, 1}, {3, 3, 2, 5}}) {
            Tensor w = Tensor.randn(rng, 0.5f, ws), b = Tensor.randn(rng, 0.5f, ws[0]);
            float[] wv = w.toArray(), bv = b.toArray();
            try (Conv2d conv = new Conv2d(ops, w, b, 2, 1);
                 Tensor x = Tensor.randn(rng, 1f, 2, 3, 6, 7)) {
                assertSame(w, conv.weight().value(), "the given tensor is the parameter (no copy)");
                assertSame(b, conv.bias().value());
                assertEquals(ws[2], conv.kernelH());
                assertEquals(ws[3], conv.kernelW());
                Tensor out = conv.forward(x, Mode.TRAIN);
                int oh = (6 + 2 - ws[2]) / 2 + 1, ow = (7 + 2 - ws[3]) / 2 + 1;
                assertTrue(out.hasShape(2, ws[0], oh, ow), out.shapeString());
                NumGrad.assertAgree(backend + " " + java.util.Arrays.toString(ws) + " out",
                        naiveConv(x.toArray(), x.shape(), wv, ws, bv, 2, 1), out.toArray(), 1e-5);
                assertTrue(conv.toString().contains(ws[2] + "x" + ws[3]), conv.toString());
                try (Tensor dout = Tensor.randn(rng, 1f, out.shape())) {
                    Tensor dx = conv.backward(dout);
                    float[] dxa = dx.toArray(), dwa = conv.weight().grad().toArray(), dba = conv.bias().grad().toArray();
                    DoubleSupplier loss = () -> NumGrad.dot(conv.forward(x, Mode.EVAL), dout);
                    NumGrad.assertGrad(backend + " dx", dxa, NumGrad.numeric(x, loss), 1e-3);
                    NumGrad.assertGrad(backend + " dW", dwa, NumGrad.numeric(w, loss), 1e-3);
                    NumGrad.assertGrad(backend + " db", dba, NumGrad.numeric(b, loss), 1e-3);
                }
            }
            assertTrue(w.isClosed() && b.isClosed(), "the layer owns the given weights");
        }
    }

    @Test
    void randomNonSquareKernelByWeightShape() {
        try (Conv2d conv = new Conv2d(Backs.java(), new int[] {5, 2, 1, 7}, 1, 0, new Rng(3), 0.1f, "W1", "b1");
             Tensor x = Tensor.randn(new Rng(4), 1f, 3, 2, 4, 9)) {
            assertTrue(conv.weight().value().hasShape(5, 2, 1, 7));
            assertTrue(conv.bias().value().hasShape(5));
            assertEquals("W1", conv.weight().name());
            assertTrue(conv.forward(x, Mode.EVAL).hasShape(3, 5, 4, 3));
        }
    }

    @Test
    void badGivenWeightsAreRejectedAndNotTaken() {
        Ops ops = Backs.java();
        try (Tensor w3 = Tensor.zeros(4, 3, 3); Tensor w = Tensor.zeros(4, 3, 3, 3); Tensor b5 = Tensor.zeros(5)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(ops, w3, b5, 1, 0));
            assertTrue(e.getMessage().contains("[4, 3, 3]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(ops, w, b5, 1, 0));
            assertTrue(e.getMessage().contains("[4]") && e.getMessage().contains("[5]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(ops, w, b5, 0, 0));
            assertTrue(e.getMessage().contains("stride 0"), e.getMessage());
            assertFalse(w.isClosed(), "a rejected tensor stays the caller's");
        }
        Tensor closed = Tensor.zeros(4, 3, 3, 3);
        closed.close();
        try (Tensor b = Tensor.zeros(4)) {
            assertThrows(IllegalStateException.class, () -> new Conv2d(ops, closed, b, 1, 0));
        }
        assertThrows(IllegalArgumentException.class,
                () -> new Conv2d(ops, new int[] {4, 3, 0, 3}, 1, 0, new Rng(1), 0.1f, "W", "b"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void convReluPoolFromGivenWeightsEqualsItsParts(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(31);
        try (Tensor w = Tensor.randn(rng, 0.3f, 4, 3, 3, 2); Tensor b = Tensor.randn(rng, 0.3f, 4);
             Tensor x = Tensor.randn(rng, 1f, 2, 3, 8, 9);
             Conv2d conv = new Conv2d(ops, w.copy(), b.copy(), 1, 1);
             ReLU relu = new ReLU(); MaxPool2d pool = new MaxPool2d(ops, 2, 2);
             ConvReluPool crp = new ConvReluPool(ops, w.copy(), b.copy(), 1, 1, 2, 2, "W1", "b1")) {
            float[] parts = pool.forward(relu.forward(conv.forward(x, Mode.EVAL), Mode.EVAL), Mode.EVAL).toArray();
            Tensor out = crp.forward(x, Mode.EVAL);
            assertTrue(out.hasShape(2, 4, 4, 5), out.shapeString());
            NumGrad.assertAgree(backend + " conv-relu-pool", parts, out.toArray(), 1e-5);
            assertEquals(3, crp.kernelH());
            assertEquals(2, crp.kernelW());
        }
    }
}
