package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.testutil.Legacy;
import dev.panamann.layers.Dropout;
import dev.panamann.tensor.Param;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.Labels;
import dev.panamann.testutil.GradAssert;
import dev.panamann.train.GradientCheck;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class FullyConnectedNetTest {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    static Stream<Ops> backends() { return Backs.all().stream(); }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void threeLayerGradientCheck(Ops ops) {
        Rng rng = new Rng(40);
        for (float reg : new float[] {0f, 3.14f}) {
            try (FullyConnectedNet net = new FullyConnectedNet(ops, new int[] {9, 7}, 6, 4, 0.4f, reg, 41);
                 Tensor x = Tensor.randn(rng, 1f, 5, 6)) {
                var r = GradientCheck.checkModel(net, x, Labels.random(rng, 5, 4), GradientCheck.STEP);
                assertEquals(List.of("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias", "layers.4.weight", "layers.4.bias"),
                        List.copyOf(r.keySet()));
                GradAssert.allOk(ops.name() + " 3-layer net, reg " + reg, r);
            }
        }
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("backends")
    void overfitsATinyDatasetWithPlainSgd(Ops ops) {
        Rng rng = new Rng(42);
        int n = 20, d = 15, c = 5;
        try (FullyConnectedNet net = new FullyConnectedNet(ops, new int[] {40, 40}, d, c,
                FullyConnectedNet.Options.DEFAULT.withHeInit().withSeed(43));
             Tensor x = Tensor.randn(rng, 1f, n, d)) {
            int[] y = Labels.random(rng, n, c);
            float first = net.loss(x, y), last = first;
            for (int step = 0; step < 300; step++) {
                last = net.loss(x, y);
                for (Param p : net.params()) sgd(p, 0.1f);
            }
            assertTrue(first > 1.0f, "initial loss " + first);
            assertTrue(last < 0.05f * first, "loss fell from " + first + " to only " + last);
            assertEquals(1.0, accuracy(net.scores(x), y), 1e-9, "train accuracy after overfitting");
            assertSame(net.scores(x), net.scores(x), "output buffers are reused, not reallocated");
        }
    }

    static void sgd(Param p, float lr) {
        MemorySegment w = p.value().segment(), g = p.grad().segment();
        int n = p.value().sizeInt();
        for (int i = 0; i < n; i++) w.setAtIndex(F, i, w.getAtIndex(F, i) - lr * g.getAtIndex(F, i));
    }

    static double accuracy(Tensor scores, int[] y) {
        int right = 0;
        for (int i = 0; i < y.length; i++) {
            int best = 0;
            for (int j = 1; j < scores.dim(1); j++) if (scores.get(i, j) > scores.get(i, best)) best = j;
            if (best == y[i]) right++;
        }
        return (double) right / y.length;
    }

    @Test
    void heAndScaledInitialization() {
        try (FullyConnectedNet he = new FullyConnectedNet(Backs.java(), new int[] {200}, 800, 10,
                FullyConnectedNet.Options.DEFAULT.withHeInit());
             FullyConnectedNet scaled = new FullyConnectedNet(Backs.java(), new int[] {200}, 800, 10, 0.03f, 0f, 1)) {
            assertEquals(Math.sqrt(2.0 / 800), std(he.paramMap().get(Legacy.name(he, "W1"))), 0.002);
            assertEquals(Math.sqrt(2.0 / 200), std(he.paramMap().get(Legacy.name(he, "W2"))), 0.004);
            assertEquals(0.03, std(scaled.paramMap().get(Legacy.name(scaled, "W1"))), 0.001);
            assertEquals(0.03, std(scaled.paramMap().get(Legacy.name(scaled, "W2"))), 0.002);
            assertEquals(2, he.numLayers());
        }
    }

    static double std(Param p) {
        double s = 0;
        float[] v = p.value().toArray();
        for (float f : v) s += f * f;
        return Math.sqrt(s / v.length);
    }

    @Test
    void dropoutOptionAddsDropoutLayersAndEvalIsDeterministic() {
        Rng rng = new Rng(44);
        try (FullyConnectedNet net = new FullyConnectedNet(Backs.java(), new int[] {8, 8}, 5, 3,
                FullyConnectedNet.Options.DEFAULT.withDropout(0.5f).withWeightScale(0.5f));
             Tensor x = Tensor.randn(rng, 1f, 4, 5)) {
            long dropouts = net.layers().layers().stream().filter(l -> l instanceof Dropout).count();
            assertEquals(2, dropouts);
            float[] a = net.scores(x).toArray(), b = net.scores(x).toArray();
            org.junit.jupiter.api.Assertions.assertArrayEquals(a, b);
            int[] y = Labels.random(rng, 4, 3);
            assertTrue(net.loss(x, y) != net.loss(x, y), "training passes draw new masks");
        }
        assertThrows(IllegalArgumentException.class, () -> FullyConnectedNet.Options.DEFAULT.withDropout(1f));
    }

    @Test
    void softmaxRegressionWhenThereAreNoHiddenLayers() {
        try (FullyConnectedNet net = new FullyConnectedNet(Backs.java(), new int[0], 6, 3, 0.1f, 0f, 1)) {
            assertEquals(List.of("layers.0.weight", "layers.0.bias"), List.copyOf(net.paramMap().keySet()));
            assertEquals(Map.of("layers.0.weight", "W1", "layers.0.bias", "b1"), net.legacyNames());
        }
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("backends")
    void batchNormGradientCheck(Ops ops) {
        Rng rng = new Rng(45);
        try (FullyConnectedNet net = new FullyConnectedNet(ops, new int[] {7, 6}, 5, 4,
                FullyConnectedNet.Options.DEFAULT.withBatchNorm(true).withWeightScale(0.5f).withReg(0.1f));
             Tensor x = Tensor.randn(rng, 1f, 6, 5)) {
            int[] y = Labels.random(rng, 6, 4);
            assertEquals(List.of("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias",
                    "layers.4.weight", "layers.4.bias", "layers.6.weight", "layers.6.bias"), List.copyOf(net.paramMap().keySet()));
            assertEquals(List.of("W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3", "running_mean1", "running_var1",
                    "running_mean2", "running_var2"), List.copyOf(net.legacyNames().values()));
            GradAssert.allOk(ops.name() + " 3-layer batch-norm net", GradientCheck.checkModel(net, x, y, GradientCheck.STEP));
        }
    }
}
