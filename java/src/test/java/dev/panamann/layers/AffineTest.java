package dev.panamann.layers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.GradAssert;
import dev.panamann.train.GradientCheck;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AffineTest {

    static Stream<Ops> backends() { return Backs.all().stream(); }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void forwardMatchesDoubleReference(Ops ops) {
        Rng rng = new Rng(1);
        try (Affine fc = new Affine(ops, 6, 4, rng, 0.5f); Tensor x = Tensor.randn(rng, 1f, 3, 6)) {
            fc.bias().value().copyFrom(new float[] {0.1f, -0.2f, 0.3f, -0.4f});
            Tensor out = fc.forward(x, Mode.TRAIN);
            assertTrue(out.hasShape(3, 4), out.shapeString());
            float[] w = fc.weight().value().toArray(), b = fc.bias().value().toArray(), xs = x.toArray();
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 4; j++) {
                    double s = b[j];
                    for (int k = 0; k < 6; k++) s += (double) xs[i * 6 + k] * w[k * 4 + j];
                    assertEquals(s, out.get(i, j), 1e-5, ops.name() + " out[" + i + "," + j + "]");
                }
            }
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void gradientCheck2d(Ops ops) {
        Rng rng = new Rng(2);
        try (Affine fc = new Affine(ops, 5, 7, rng, 0.3f);
             Tensor x = Tensor.randn(rng, 1f, 4, 5);
             Tensor dout = Tensor.randn(rng, 1f, 4, 7)) {
            try (Tensor b = Tensor.randn(rng, 0.5f, 7)) {
                fc.bias().value().copyFrom(b);
            }
            GradAssert.allOk(ops.name() + " affine 2-D",
                    GradientCheck.checkLayer(fc, x, dout, Mode.TRAIN, GradientCheck.STEP));
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void gradientCheck4dInput(Ops ops) {
        Rng rng = new Rng(3);
        try (Affine fc = new Affine(ops, 2 * 3 * 2, 5, rng, 0.3f);
             Tensor x = Tensor.randn(rng, 1f, 3, 2, 3, 2);
             Tensor dout = Tensor.randn(rng, 1f, 3, 5)) {
            fc.forward(x, Mode.TRAIN);
            Tensor dx = fc.backward(dout);
            assertTrue(dx.hasShape(3, 2, 3, 2), "dx keeps x's shape: " + dx.shapeString());
            var results = GradientCheck.checkLayer(fc, x, dout, Mode.TRAIN, GradientCheck.STEP);
            assertEquals(List.of("x", "W", "b"), List.copyOf(results.keySet()));
            GradAssert.allOk(ops.name() + " affine 4-D", results);
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void inputGradientCanBeSwitchedOff(Ops ops) {
        Rng rng = new Rng(6);
        try (Affine fc = new Affine(ops, 2 * 3 * 2, 5, rng, 0.3f);
             Tensor x = Tensor.randn(rng, 1f, 4, 2, 3, 2);
             Tensor dout = Tensor.randn(rng, 1f, 4, 5)) {
            fc.forward(x, Mode.TRAIN);
            assertTrue(fc.backward(dout) != null);
            float[] dw = fc.weight().grad().toArray(), db = fc.bias().grad().toArray();
            fc.weight().zeroGrad();
            fc.bias().zeroGrad();
            assertSame(fc, fc.setInputGradient(false));
            fc.forward(x, Mode.TRAIN);
            assertEquals(null, fc.backward(dout));
            assertArrayEquals(dw, fc.weight().grad().toArray(), "dW is the same without dx");
            assertArrayEquals(db, fc.bias().grad().toArray(), "db is the same without dx");
            var results = GradientCheck.checkLayer(fc, x, dout, Mode.TRAIN, GradientCheck.STEP);
            assertEquals(List.of("W", "b"), List.copyOf(results.keySet()), "no input gradient to check");
            GradAssert.allOk(ops.name() + " affine without dx", results);
            fc.setInputGradient(true);
            fc.forward(x, Mode.TRAIN);
            assertTrue(fc.backward(dout).hasShape(4, 2, 3, 2), "switched back on");
        }
    }

    /** Without dW, backward leaves W's gradient alone, keeps dx and db, and hands out what dW is made of. */
    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("backends")
    void withoutWeightGradientTheInputsOfDwAreKept(Ops ops) {
        Rng rng = new Rng(6);
        try (Tensor x = Tensor.randn(rng, 1f, 4, 2, 3); Tensor dout = Tensor.randn(rng, 1f, 4, 5);
             Affine fc = new Affine(ops, 6, 5, rng, 0.3f)) {
            assertEquals(null, fc.lastInput());
            fc.forward(x, Mode.TRAIN);
            float[] dx = fc.backward(dout).toArray(), dw = fc.weight().grad().toArray(), db = fc.bias().grad().toArray();
            fc.weight().grad().fill(7f);
            fc.bias().zeroGrad();
            assertSame(fc, fc.setWeightGradient(false));
            fc.forward(x, Mode.TRAIN);
            assertArrayEquals(dx, fc.backward(dout).toArray(), "dx");
            assertArrayEquals(db, fc.bias().grad().toArray(), "db");
            for (float v : fc.weight().grad().toArray()) assertEquals(7f, v, "dW untouched");
            assertSame(x, fc.lastInput());
            assertSame(dout, fc.lastOutputGradient());
            try (Tensor again = Tensor.zeros(6, 5)) { // x^T dout from what the layer kept is the dW it skipped
                ops.gemm(true, false, 6, 5, 4, 1f, fc.lastInput().segment(), fc.lastOutputGradient().segment(), 0f, again.segment());
                assertArrayEquals(dw, again.toArray(), 1e-6f);
            }
            fc.setWeightGradient(true);
            fc.forward(x, Mode.TRAIN);
            fc.backward(dout);
            assertArrayEquals(dw, fc.weight().grad().toArray(), "switched back on");
        }
    }

    @Test
    void nativeAndJavaAgree() {
        Ops java = Backs.java(), nat = Backs.nativeOps();
        Rng rng = new Rng(4);
        try (Tensor w = Tensor.randn(rng, 0.2f, 48, 33);
             Tensor b = Tensor.randn(rng, 0.2f, 33);
             Tensor x = Tensor.randn(rng, 1f, 17, 3, 4, 4);
             Tensor dout = Tensor.randn(rng, 1f, 17, 33);
             Affine fj = new Affine(java, w.copy(), b.copy());
             Affine fn = new Affine(nat, w.copy(), b.copy())) {
            assertClose("out", fj.forward(x, Mode.TRAIN), fn.forward(x, Mode.TRAIN), 1e-5f);
            assertClose("dx", fj.backward(dout), fn.backward(dout), 1e-5f);
            assertClose("dW", fj.weight().grad(), fn.weight().grad(), 1e-5f);
            assertClose("db", fj.bias().grad(), fn.bias().grad(), 1e-5f);
        }
    }

    static void assertClose(String what, Tensor a, Tensor b, float tol) {
        assertTrue(a.sameShape(b), what + ": " + a.shapeString() + " vs " + b.shapeString());
        float[] x = a.toArray(), y = b.toArray();
        for (int i = 0; i < x.length; i++) {
            assertEquals(x[i], y[i], tol * (1 + Math.abs(x[i])), what + "[" + i + "]");
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void mismatchedInputNamesBothShapes(Ops ops) {
        try (Affine fc = new Affine(ops, 10, 5, new Rng(5), 0.1f); Tensor x = Tensor.zeros(2, 3, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fc.forward(x, Mode.TRAIN));
            assertTrue(e.getMessage().contains("[2, 3, 4]") && e.getMessage().contains("[10, 5]"), e.getMessage());
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void wrongDoutNamesBothShapes(Ops ops) {
        try (Affine fc = new Affine(ops, 4, 5, new Rng(5), 0.1f); Tensor x = Tensor.zeros(2, 4); Tensor dout = Tensor.zeros(2, 6)) {
            fc.forward(x, Mode.TRAIN);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fc.backward(dout));
            assertTrue(e.getMessage().contains("[2, 5]") && e.getMessage().contains("[2, 6]"), e.getMessage());
        }
    }

    @Test
    void givenWeightsMustMatch() {
        try (Tensor w = Tensor.zeros(4, 3); Tensor b = Tensor.zeros(4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Affine(Backs.java(), w, b));
            assertTrue(e.getMessage().contains("[4, 3]") && e.getMessage().contains("[4]"), e.getMessage());
        }
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void closedInputIsRejected(Ops ops) {
        try (Affine fc = new Affine(ops, 4, 5, new Rng(5), 0.1f)) {
            Tensor x = Tensor.zeros(2, 4);
            x.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> fc.forward(x, Mode.TRAIN));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }

    @Test
    void backwardBeforeForwardIsRejected() {
        try (Affine fc = new Affine(Backs.java(), 4, 5, new Rng(5), 0.1f); Tensor dout = Tensor.zeros(2, 5)) {
            assertThrows(IllegalStateException.class, () -> fc.backward(dout));
        }
    }

    @Test
    void buffersAreReusedWhileTheShapeHolds() {
        try (Affine fc = new Affine(Backs.java(), 4, 3, new Rng(6), 0.1f);
             Tensor x8 = Tensor.zeros(8, 4); Tensor x8b = Tensor.zeros(8, 4); Tensor x2 = Tensor.zeros(2, 4);
             Tensor d8 = Tensor.zeros(8, 3)) {
            Tensor out = fc.forward(x8, Mode.TRAIN);
            Tensor dx = fc.backward(d8);
            assertSame(out, fc.forward(x8b, Mode.TRAIN));
            assertSame(dx, fc.backward(d8));
            Tensor small = fc.forward(x2, Mode.TRAIN);
            assertTrue(small.hasShape(2, 3));
            // back to the larger batch: same memory as before (storage only grows)
            Tensor again = fc.forward(x8, Mode.TRAIN);
            assertEquals(out.segment().address(), again.segment().address());
        }
    }

    @Test
    void paramNamesAndRegularization() {
        try (Affine fc = new Affine(Backs.java(), 4, 3, new Rng(7), 0.1f, "W3", "b3")) {
            assertEquals("W3", fc.params().get(0).name());
            assertEquals("b3", fc.params().get(1).name());
            assertTrue(fc.weight().regularized());
            assertTrue(!fc.bias().regularized());
            assertTrue(fc.weight().value().hasShape(4, 3));
            for (float v : fc.bias().value().toArray()) assertEquals(0f, v);
        }
    }

    @Test
    void initialWeightsHaveTheRequestedScale() {
        try (Affine fc = new Affine(Backs.java(), 100, 100, new Rng(8), 0.05f)) {
            float[] w = fc.weight().value().toArray();
            double s = 0, m = 0;
            for (float v : w) { s += v * v; m += v; }
            assertEquals(0.05, Math.sqrt(s / w.length), 0.002);
            assertEquals(0.0, m / w.length, 0.002);
        }
    }
}
