package dev.panamann.layers;

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

/**
 * ReLU, Sigmoid, PReLU, Flatten, Dropout and Sequential. The elementwise layers are plain Java
 * loops that do not use the backend, so they are checked once on their own and then, on both
 * backends, inside a {@link Sequential} with affine layers.
 */
class ElementwiseLayersTest {

    static Stream<Ops> backends() { return Backs.all().stream(); }

    /**
     * Gaussian values kept at least {@code gap} away from zero, so that a numerical step does
     * not cross the kink of a piecewise-linear function.
     */
    static Tensor awayFromZero(Rng rng, float gap, int... shape) {
        Tensor t = Tensor.randn(rng, 1f, shape);
        for (long i = 0; i < t.size(); i++) {
            float v = t.getFlat(i);
            if (Math.abs(v) < gap) t.setFlat(i, v < 0 ? v - gap : v + gap);
        }
        return t;
    }

    // ------------------------------------------------------------------ ReLU

    @Test
    void reluValues() {
        try (ReLU relu = new ReLU(); Tensor x = Tensor.of(new float[] {-2, -0f, 0.5f, 3}, 2, 2);
             Tensor dout = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2)) {
            assertArrayEquals(new float[] {0, 0, 0.5f, 3}, relu.forward(x, Mode.TRAIN).toArray());
            assertArrayEquals(new float[] {0, 0, 3, 4}, relu.backward(dout).toArray());
        }
    }

    @Test
    void reluGradientCheck() {
        Rng rng = new Rng(10);
        try (ReLU relu = new ReLU(); Tensor x = awayFromZero(rng, 0.05f, 3, 2, 4, 4); Tensor dout = Tensor.randn(rng, 1f, 3, 2, 4, 4)) {
            GradAssert.allOk("relu", GradientCheck.checkLayer(relu, x, dout, Mode.TRAIN, GradientCheck.STEP));
        }
    }

    // ------------------------------------------------------------------ Sigmoid

    @Test
    void sigmoidValuesIncludingExtremes() {
        try (Sigmoid s = new Sigmoid(); Tensor x = Tensor.of(new float[] {0, 2, -2, 100, -100, 1000}, 6)) {
            float[] o = s.forward(x, Mode.TRAIN).toArray();
            assertEquals(0.5f, o[0], 1e-7);
            assertEquals(1 / (1 + Math.exp(-2)), o[1], 1e-7);
            assertEquals(1 / (1 + Math.exp(2)), o[2], 1e-7);
            assertEquals(1f, o[3]);
            assertEquals(0f, o[4], 1e-40);
            assertEquals(1f, o[5]);
            for (float v : o) assertTrue(!Float.isNaN(v));
        }
    }

    @Test
    void sigmoidGradientCheck() {
        Rng rng = new Rng(11);
        try (Sigmoid s = new Sigmoid(); Tensor x = Tensor.randn(rng, 2f, 4, 9); Tensor dout = Tensor.randn(rng, 1f, 4, 9)) {
            GradAssert.allOk("sigmoid", GradientCheck.checkLayer(s, x, dout, Mode.TRAIN, GradientCheck.STEP));
        }
    }

    // ------------------------------------------------------------------ PReLU

    @Test
    void preluPerChannelValues() {
        try (PReLU p = new PReLU(2); Tensor x = Tensor.of(new float[] {-4, 1, -4, 2}, 2, 2)) {
            p.alpha().value().copyFrom(new float[] {0.5f, 0.25f});
            assertArrayEquals(new float[] {-2, 1, -2, 2}, p.forward(x, Mode.TRAIN).toArray());
            assertEquals("alpha", p.params().get(0).name());
            assertTrue(!p.alpha().regularized());
        }
        try (PReLU p = new PReLU(3)) {
            assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f}, p.alpha().value().toArray());
        }
    }

    @Test
    void preluPerChannelGradientCheck2d() {
        Rng rng = new Rng(12);
        try (PReLU p = new PReLU(5); Tensor x = awayFromZero(rng, 0.05f, 4, 5); Tensor dout = Tensor.randn(rng, 1f, 4, 5)) {
            p.alpha().value().copyFrom(new float[] {0.1f, 0.2f, -0.3f, 0.25f, 1.5f});
            var r = GradientCheck.checkLayer(p, x, dout, Mode.TRAIN, GradientCheck.STEP);
            assertEquals(List.of("x", "alpha"), List.copyOf(r.keySet()));
            GradAssert.allOk("prelu (N, C)", r);
        }
    }

    @Test
    void preluPerChannelGradientCheck4d() {
        Rng rng = new Rng(13);
        try (PReLU p = new PReLU(3); Tensor x = awayFromZero(rng, 0.05f, 2, 3, 4, 5); Tensor dout = Tensor.randn(rng, 1f, 2, 3, 4, 5)) {
            p.alpha().value().copyFrom(new float[] {0.1f, 0.6f, 0.25f});
            GradAssert.allOk("prelu (N, C, H, W)", GradientCheck.checkLayer(p, x, dout, Mode.TRAIN, GradientCheck.STEP));
        }
    }

    @Test
    void preluSharedGradientCheck() {
        Rng rng = new Rng(14);
        try (PReLU p = PReLU.shared(); Tensor x = awayFromZero(rng, 0.05f, 3, 2, 3, 3); Tensor dout = Tensor.randn(rng, 1f, 3, 2, 3, 3)) {
            p.alpha().value().copyFrom(new float[] {0.4f});
            assertTrue(p.alpha().value().hasShape(1));
            GradAssert.allOk("prelu shared", GradientCheck.checkLayer(p, x, dout, Mode.TRAIN, GradientCheck.STEP));
        }
    }

    @Test
    void preluChannelMismatchNamesBothShapes() {
        try (PReLU p = new PReLU(4); Tensor x = Tensor.zeros(2, 3, 5, 5)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.forward(x, Mode.TRAIN));
            assertTrue(e.getMessage().contains("[4]") && e.getMessage().contains("[2, 3, 5, 5]"), e.getMessage());
        }
    }

    // ------------------------------------------------------------------ Flatten

    @Test
    void flattenIsAViewAndGradientChecks() {
        Rng rng = new Rng(15);
        try (Flatten f = new Flatten(); Tensor x = Tensor.randn(rng, 1f, 2, 3, 2, 2); Tensor dout = Tensor.randn(rng, 1f, 2, 12)) {
            Tensor out = f.forward(x, Mode.TRAIN);
            assertTrue(out.hasShape(2, 12));
            assertEquals(x.segment().address(), out.segment().address(), "no copy");
            Tensor dx = f.backward(dout);
            assertTrue(dx.hasShape(2, 3, 2, 2));
            assertArrayEquals(dout.toArray(), dx.toArray());
            GradAssert.allOk("flatten", GradientCheck.checkLayer(f, x, dout, Mode.TRAIN, GradientCheck.STEP));
        }
    }

    @Test
    void flattenRejectsWrongDout() {
        try (Flatten f = new Flatten(); Tensor x = Tensor.zeros(2, 3, 4); Tensor dout = Tensor.zeros(2, 11)) {
            f.forward(x, Mode.TRAIN);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.backward(dout));
            assertTrue(e.getMessage().contains("[2, 12]") && e.getMessage().contains("[2, 11]"), e.getMessage());
        }
    }

    // ------------------------------------------------------------------ Dropout

    @Test
    void dropoutGradientCheckWithAFixedMask() {
        Rng rng = new Rng(16);
        Rng maskRng = new Rng(99);
        long[] state = maskRng.getState();
        try (Dropout d = new Dropout(0.4f, maskRng); Tensor x = Tensor.randn(rng, 1f, 6, 7); Tensor dout = Tensor.randn(rng, 1f, 6, 7)) {
            var r = GradientCheck.checkLayer(d, x, dout, Mode.TRAIN, GradientCheck.STEP, () -> maskRng.setState(state));
            GradAssert.allOk("dropout", r);
            // the check is meaningful: some units were dropped, the rest scaled
            float[] dx = d.backward(dout).toArray(), g = dout.toArray();
            int dropped = 0;
            for (int i = 0; i < dx.length; i++) {
                if (dx[i] == 0f) dropped++;
                else assertEquals(g[i] / 0.6f, dx[i], 1e-5f);
            }
            assertTrue(dropped > 5 && dropped < 30, "dropped " + dropped + " of 42");
        }
    }

    @Test
    void dropoutKeepsTheExpectationAndDropsAboutP() {
        try (Dropout d = new Dropout(0.3f, new Rng(17)); Tensor x = Tensor.full(2f, 100, 100)) {
            float[] o = d.forward(x, Mode.TRAIN).toArray();
            int zeros = 0;
            double sum = 0;
            for (float v : o) {
                if (v == 0f) zeros++;
                else assertEquals(2f / 0.7f, v, 1e-5f);
                sum += v;
            }
            assertEquals(0.3, zeros / 10000.0, 0.02);
            assertEquals(2.0, sum / 10000, 0.06);
        }
    }

    @Test
    void dropoutEvalIsIdentityAndTrainIsSeeded() {
        try (Dropout a = new Dropout(0.5f, new Rng(18)); Dropout b = new Dropout(0.5f, new Rng(18));
             Tensor x = Tensor.randn(new Rng(1), 1f, 4, 8); Tensor dout = Tensor.randn(new Rng(2), 1f, 4, 8)) {
            assertSame(x, a.forward(x, Mode.EVAL));
            assertSame(dout, a.backward(dout));
            assertArrayEquals(a.forward(x, Mode.TRAIN).toArray(), b.forward(x, Mode.TRAIN).toArray());
        }
    }

    @Test
    void dropoutProbabilityIsValidated() {
        Rng rng = new Rng(1);
        for (float p : new float[] {-0.1f, 1f, 1.5f, Float.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Dropout(p, rng));
            assertTrue(e.getMessage().contains("[0, 1)"), e.getMessage());
        }
    }

    // ------------------------------------------------------------------ Sequential

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void sequentialChainsLayersAndGradientChecks(Ops ops) {
        Rng rng = new Rng(19);
        Rng maskRng = new Rng(7);
        long[] state = maskRng.getState();
        try (Sequential s = new Sequential(new Flatten(), new Affine(ops, 12, 6, rng, 0.4f, "W1", "b1"), new Sigmoid(),
                        new Dropout(0.25f, maskRng), new Affine(ops, 6, 8, rng, 0.4f, "W2", "b2"))
                .add(new PReLU(8)).add(new Affine(ops, 8, 3, rng, 0.4f, "W3", "b3"));
             Tensor x = Tensor.randn(rng, 1f, 4, 3, 2, 2); Tensor dout = Tensor.randn(rng, 1f, 4, 3)) {
            assertEquals(7, s.layers().size());
            var r = GradientCheck.checkLayer(s, x, dout, Mode.TRAIN, GradientCheck.STEP, () -> maskRng.setState(state));
            assertEquals(List.of("x", "W1", "b1", "W2", "b2", "alpha", "W3", "b3"), List.copyOf(r.keySet()));
            GradAssert.allOk(ops.name() + " sequential", r);
        }
    }

    // ------------------------------------------------------------------ common

    @Test
    void closedInputsAreRejected() {
        Tensor x = Tensor.zeros(2, 3);
        x.close();
        for (Layer l : new Layer[] {new ReLU(), new Sigmoid(), new PReLU(3), new Flatten(), new Dropout(0.5f, new Rng(1))}) {
            try (l) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> l.forward(x, Mode.TRAIN), l.toString());
                assertTrue(e.getMessage().contains("closed"), l + ": " + e.getMessage());
            }
        }
    }

    @Test
    void wrongDoutShapeIsRejected() {
        for (Layer l : new Layer[] {new ReLU(), new Sigmoid(), new PReLU(3), new Dropout(0.5f, new Rng(1))}) {
            try (l; Tensor x = Tensor.zeros(2, 3); Tensor dout = Tensor.zeros(3, 2)) {
                l.forward(x, Mode.TRAIN);
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> l.backward(dout), l.toString());
                assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[3, 2]"), l + ": " + e.getMessage());
            }
        }
    }

    static void assertArrayEquals(float[] expected, float[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual, 1e-6f);
    }

    /** An activation added in one file, as {@link OutputActivation} describes. */
    static final class Tanh extends OutputActivation {
        private static final java.lang.foreign.ValueLayout.OfFloat F = java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

        @Override
        protected void apply(java.lang.foreign.MemorySegment x, java.lang.foreign.MemorySegment out, int n) {
            for (int i = 0; i < n; i++) out.setAtIndex(F, i, (float) Math.tanh(x.getAtIndex(F, i)));
        }

        @Override
        protected void gradient(java.lang.foreign.MemorySegment out, java.lang.foreign.MemorySegment dout,
                                java.lang.foreign.MemorySegment dx, int n) {
            for (int i = 0; i < n; i++) {
                float y = out.getAtIndex(F, i);
                dx.setAtIndex(F, i, dout.getAtIndex(F, i) * (1 - y * y));
            }
        }
    }

    @org.junit.jupiter.api.Test
    void anActivationIsOneSubclassAndItsGradientChecks() {
        dev.panamann.tensor.Rng rng = new dev.panamann.tensor.Rng(17);
        try (Tanh tanh = new Tanh(); Tensor x = Tensor.randn(rng, 1f, 3, 4, 2); Tensor dout = Tensor.randn(rng, 1f, 3, 4, 2)) {
            Tensor out = tanh.forward(x, Mode.TRAIN);
            org.junit.jupiter.api.Assertions.assertEquals((float) Math.tanh(x.get(1, 2, 1)), out.get(1, 2, 1), 1e-6f);
            float[] dx = tanh.backward(dout).toArray();
            dev.panamann.testutil.NumGrad.assertGrad("tanh dx", dx,
                    dev.panamann.testutil.NumGrad.numeric(x, () -> dev.panamann.testutil.NumGrad.dot(tanh.forward(x, Mode.TRAIN), dout)), 1e-3);
        }
    }
}
