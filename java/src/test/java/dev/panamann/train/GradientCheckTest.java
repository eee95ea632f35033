package dev.panamann.train;

import dev.panamann.testutil.Legacy;
import dev.panamann.testutil.GradAssert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.layers.Affine;
import dev.panamann.layers.Layer;
import dev.panamann.layers.Mode;
import dev.panamann.tensor.Param;
import dev.panamann.layers.Sigmoid;
import dev.panamann.loss.Loss;
import dev.panamann.loss.SoftmaxCrossEntropy;
import dev.panamann.models.Model;
import dev.panamann.models.TwoLayerNet;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class GradientCheckTest {

    static Stream<Ops> backends() { return Backs.all().stream(); }

    // ------------------------------------------------------------------ the tools themselves

    @Test
    void numericalGradientOfACubeAndXIsRestored() {
        Rng rng = new Rng(50);
        try (Tensor x = Tensor.randn(rng, 1f, 3, 4)) {
            float[] before = x.toArray();
            double[] g = GradientCheck.numericalGradient(() -> {
                double s = 0;
                for (long i = 0; i < x.size(); i++) s += Math.pow(x.getFlat(i), 3);
                return s;
            }, x, GradientCheck.STEP);
            assertArrayEquals(before, x.toArray(), "x restored bit for bit");
            for (int i = 0; i < g.length; i++) {
                double exact = 3.0 * before[i] * before[i];
                // centered difference of x^3 is exact up to h^2 = (1e-2 max(1, |x|))^2
                assertEquals(exact, g[i], 1e-4 * Math.max(1, before[i] * before[i]) + 1e-6, "element " + i);
            }
        }
    }

    @Test
    void relErrorIsCs231nsElementwiseMaximum() {
        assertEquals(0.0, GradientCheck.relError(new double[] {1, -2, 0}, new double[] {1, -2, 0}));
        assertEquals(0.01 / 2.01, GradientCheck.relError(new double[] {1, 5}, new double[] {1.01, 5}), 1e-12);
        // a tiny element dominates cs231n's measure ...
        double[] a = {1, 1e-6}, b = {1, 2e-6};
        assertEquals(1.0 / 3, GradientCheck.relError(a, b), 1e-12);
        // ... while the floored error holds it to a tenth of the largest element
        assertEquals(1e-6 / 0.2, GradientCheck.error(a, b), 1e-12);
        try (Tensor t = Tensor.of(new float[] {1, 5}, 2); Tensor u = Tensor.of(new float[] {1.01f, 5}, 2)) {
            assertEquals(0.01 / 2.01, GradientCheck.relError(t, u), 1e-6);
        }
        assertThrows(IllegalArgumentException.class, () -> GradientCheck.relError(new double[2], new double[3]));
    }

    @Test
    void closedTensorsAreRejected() {
        Tensor x = Tensor.zeros(3);
        x.close();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> GradientCheck.numericalGradient(() -> 0, x, GradientCheck.STEP));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void aKinkWithinTheStepDoesNotFailACorrectGradientButABugStillFails() {
        // every input sits half a step from ReLU's kink, so every centered difference straddles it
        float[] v = new float[12];
        for (int i = 0; i < v.length; i++) v[i] = (i % 2 == 0 ? 1 : -1) * 0.5f * (float) GradientCheck.STEP;
        Rng rng = new Rng(56);
        try (Tensor x = Tensor.of(v, 3, 4); Tensor dout = Tensor.randn(rng, 1f, 3, 4);
             Layer relu = new dev.panamann.layers.ReLU(); Layer broken = new BrokenLayer(new dev.panamann.layers.ReLU(), Bug.SCALE, "x")) {
            GradientCheck.Result r = GradientCheck.checkLayer(relu, x, dout, Mode.TRAIN, GradientCheck.STEP).get("x");
            assertTrue(r.centeredError() > 0.1, "the centered difference alone is fooled: " + r);
            assertTrue(r.ok(), "the one-sided differences see through the kink: " + r);
            GradientCheck.Result b = GradientCheck.checkLayer(broken, x, dout, Mode.TRAIN, GradientCheck.STEP).get("x");
            assertFalse(b.ok(), "a 1% error at the kinks is still caught: " + b);
        }
    }

    // ------------------------------------------------------------------ deliberately broken gradients

    /** How a backward pass is broken. */
    enum Bug {
        /** every value of the gradient multiplied by 1.01 */
        SCALE,
        /** element i gets the value meant for element i + 1 (an index off by one) */
        OFF_BY_ONE;

        void apply(Tensor g) {
            float[] v = g.toArray();
            float[] w = new float[v.length];
            for (int i = 0; i < v.length; i++) w[i] = this == SCALE ? v[i] * 1.01f : v[(i + 1) % v.length];
            g.copyFrom(w);
        }
    }

    /** A correct layer whose backward is then broken for one target: "x" or a param name. */
    record BrokenLayer(Layer inner, Bug bug, String target) implements Layer {
        @Override public Tensor forward(Tensor x, Mode mode) { return inner.forward(x, mode); }

        @Override
        public Tensor backward(Tensor dout) {
            Tensor dx = inner.backward(dout);
            if (target.equals("x")) bug.apply(dx);
            for (Param p : inner.params()) if (p.name().equals(target)) bug.apply(p.grad());
            return dx;
        }

        @Override public List<Param> params() { return inner.params(); }

        @Override public void close() { inner.close(); }
    }

    /** Checks that exactly the broken target fails, by a clear margin, and the rest pass. */
    static void assertCaught(String context, Map<String, GradientCheck.Result> r, String target) {
        for (GradientCheck.Result res : r.values()) {
            if (res.name().equals(target)) {
                assertFalse(res.ok(), context + ": the broken " + target + " passed: " + res);
                assertTrue(res.error() > 3 * GradientCheck.TOLERANCE, context + ": caught only narrowly: " + res);
            } else {
                assertTrue(res.ok(), context + ": the correct " + res.name() + " failed: " + res);
            }
        }
        assertTrue(r.containsKey(target), context + ": " + target + " was not checked");
    }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void brokenAffineBackwardIsCaught(Ops ops) {
        for (Bug bug : Bug.values()) {
            for (String target : List.of("x", "W", "b")) {
                Rng rng = new Rng(51);
                try (Layer layer = new BrokenLayer(new Affine(ops, 6, 5, rng, 0.3f), bug, target);
                     Tensor x = Tensor.randn(rng, 1f, 4, 6); Tensor dout = Tensor.randn(rng, 1f, 4, 5)) {
                    assertCaught(ops.name() + " affine " + bug + " " + target,
                            GradientCheck.checkLayer(layer, x, dout, Mode.TRAIN, GradientCheck.STEP), target);
                }
            }
        }
    }

    @Test
    void brokenSigmoidBackwardIsCaught() {
        for (Bug bug : Bug.values()) {
            Rng rng = new Rng(52);
            try (Layer layer = new BrokenLayer(new Sigmoid(), bug, "x");
                 Tensor x = Tensor.randn(rng, 2f, 5, 6); Tensor dout = Tensor.randn(rng, 1f, 5, 6)) {
                assertCaught("sigmoid " + bug, GradientCheck.checkLayer(layer, x, dout, Mode.TRAIN, GradientCheck.STEP), "x");
            }
        }
    }

    @Test
    void brokenLossGradientIsCaught() {
        for (Bug bug : Bug.values()) {
            Rng rng = new Rng(53);
            try (SoftmaxCrossEntropy inner = new SoftmaxCrossEntropy(); Tensor s = Tensor.randn(rng, 2f, 6, 5)) {
                Loss broken = new Loss() {
                    @Override public double forwardDouble(Tensor scores, int[] y) {
                        double l = inner.forwardDouble(scores, y);
                        bug.apply(inner.dscores());
                        return l;
                    }
                    @Override public Tensor dscores() { return inner.dscores(); }
                    @Override public void close() {}
                };
                int[] y = {0, 4, 2, 2, 1, 3};
                assertCaught("softmax " + bug, Map.of("scores", GradientCheck.checkLoss(broken, s, y, GradientCheck.STEP)), "scores");
                GradAssert.ok("softmax, unbroken", GradientCheck.checkLoss(inner, s, y, GradientCheck.STEP));
            }
        }
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("backends")
    void brokenModelGradientIsCaught(Ops ops) {
        for (Bug bug : Bug.values()) {
            for (String target : List.of("W1", "b2")) {
                Rng rng = new Rng(54);
                try (TwoLayerNet net = new TwoLayerNet(ops, 6, 8, 4, 0.5f, 0.1f, 55); Tensor x = Tensor.randn(rng, 1f, 7, 6)) {
                    Model broken = new Model() {
                        @Override public Tensor scores(Tensor in) { return net.scores(in); }
                        @Override public float loss(Tensor in, int[] y) { return (float) lossDouble(in, y); }
                        @Override public double lossDouble(Tensor in, int[] y) {
                            double l = net.lossDouble(in, y);
                            bug.apply(net.paramMap().get(Legacy.name(net, target)).grad());
                            return l;
                        }
                        @Override public List<Param> params() { return net.params(); }
                        @Override public int numClasses() { return net.numClasses(); }
                        @Override public void close() {}
                    };
                    int[] y = {0, 1, 2, 3, 3, 2, 1};
                    assertCaught(ops.name() + " two-layer net " + bug + " " + target,
                            GradientCheck.checkModel(broken, x, y, GradientCheck.STEP), Legacy.name(net, target));
                }
            }
        }
    }

    /**
     * The floor is per parameter: with inputs of size ~40 the largest weight gradient of an
     * affine layer is ~100 times the bias gradient, and a bias gradient off by 1% must fail.
     * A floor shared by the whole check (10% of the weight's scale) let it pass (error 6e-4);
     * held to its own scale down to the noise floor it fails (1.5e-3).
     */
    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("backends")
    void aSmallGradientNextToALargeOneIsHeldToItsOwnScale(Ops ops) {
        for (Bug bug : Bug.values()) {
            Rng rng = new Rng(56);
            try (Layer layer = new BrokenLayer(new Affine(ops, 6, 5, rng, 0.3f), bug, "b");
                 Tensor x = Tensor.randn(rng, 40f, 4, 6); Tensor dout = Tensor.randn(rng, 1f, 4, 5)) {
                Map<String, GradientCheck.Result> r = GradientCheck.checkLayer(layer, x, dout, Mode.TRAIN, GradientCheck.STEP);
                String context = ops.name() + " affine with large inputs, " + bug + " b: ";
                assertFalse(r.get("b").ok(), context + r);
                assertTrue(r.get("W").ok() && r.get("x").ok(), context + r);
            }
            // the same layer unbroken passes
            Rng rng2 = new Rng(56);
            try (Layer layer = new Affine(ops, 6, 5, rng2, 0.3f);
                 Tensor x = Tensor.randn(rng2, 40f, 4, 6); Tensor dout = Tensor.randn(rng2, 1f, 4, 5)) {
                GradAssert.allOk(ops.name() + " affine with large inputs", GradientCheck.checkLayer(layer, x, dout, Mode.TRAIN,
                        GradientCheck.STEP));
            }
        }
    }
}
