package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.Ops;
import dev.panamann.optim.Adam;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.Sgd;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Labels;
import dev.panamann.testutil.NumGrad;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Model#trainStep} with the update fused into the replicas' weight-gradient products
 * ({@link DataParallel}, plain SGD): the same parameters, up to float rounding, as {@link
 * Model#loss} then {@link Optimizer#step(List)}, with the model's L2 term, the optimizer's
 * weight decay, both or neither, and a learning rate that changes between steps; the other
 * rules, and batches the replicas do not take, run the two calls to the bit.
 */
class FusedUpdateTest {

    /** (backend, model's reg, optimizer's weight decay) */
    static Stream<Arguments> cases() {
        return NumGrad.backends().stream().flatMap(b -> Stream.of(
                Arguments.of(b, 0f, 0.0), Arguments.of(b, 0.05f, 0.0), Arguments.of(b, 0f, 0.05), Arguments.of(b, 0.05f, 0.02)));
    }

    static Function<Ops, Model> twoLayer(float reg) {
        return o -> new TwoLayerNet(o, 20, 16, 6, 1e-1f, reg, 4);
    }

    /** A conv layer (not fused) before two affine layers (fused). */
    static Function<Ops, Model> convNet(float reg) {
        return o -> new ThreeLayerConvNet(o, new int[] {3, 8, 8}, 4, 3, 12, 5, 1e-1f, reg, 3);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void fusedSgdGivesTheParamsOfLossThenStep(String backend, float reg, double wd) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(5);
        // 37 and 19 rows: unequal slices, one product per replica; 32 and 20 rows: equal slices,
        // the wide layers' products over the whole batch (the first layer reading the batch itself,
        // the conv net's hidden layer the gathered inputs)
        for (int rows : new int[] {37, 32}) {
            try (DataParallel fused = DataParallel.of(ops, twoLayer(reg), 2); DataParallel plain = DataParallel.of(ops, twoLayer(reg), 2);
                 Optimizer a = new Sgd(0.5, wd); Optimizer b = new Sgd(0.5, wd); Tensor x = Tensor.randn(rng, 1f, rows, 20)) {
                int[] y = Labels.random(rng, rows, 6);
                assertSame(fused, plain, a, b, x, y, 3);
            }
        }
        for (int rows : new int[] {19, 20}) {
            try (DataParallel fused = DataParallel.of(ops, convNet(reg), 2); DataParallel plain = DataParallel.of(ops, convNet(reg), 2);
                 Optimizer a = new Sgd(0.2, wd); Optimizer b = new Sgd(0.2, wd); Tensor x = Tensor.randn(rng, 1f, rows, 3, 8, 8)) {
                int[] y = Labels.random(rng, rows, 5);
                assertSame(fused, plain, a, b, x, y, 3);
            }
        }
    }

    /**
     * {@code steps} steps of {@code fused.trainStep} against {@code plain.loss} then {@code
     * b.step}, the learning rate halved before the last: losses, params, step counts; the
     * gradients of every param but the affine weights are computed as before.
     */
    private static void assertSame(DataParallel fused, DataParallel plain, Optimizer a, Optimizer b, Tensor x, int[] y, int steps) {
        plain.loadStateDict(fused.stateDict());
        List<Param> pa = fused.params(), pb = plain.params();
        float[][] start = new float[pa.size()][];
        for (int i = 0; i < pa.size(); i++) start[i] = pa.get(i).value().toArray();
        for (int s = 0; s < steps; s++) {
            if (s == steps - 1) {
                a.setLearningRate(a.learningRate() / 2);
                b.setLearningRate(b.learningRate() / 2);
            }
            float la = fused.trainStep(x, y, a);
            float lb = plain.loss(x, y);
            b.step(pb);
            assertEquals(lb, la, 1e-5f * Math.abs(lb), "loss of step " + s);
        }
        for (int i = 0; i < pa.size(); i++) {
            Param p = pa.get(i);
            float[] want = pb.get(i).value().toArray(), got = p.value().toArray();
            double moved = 0, scale = 0;
            for (int k = 0; k < got.length; k++) {
                moved = Math.max(moved, Math.abs(want[k] - start[i][k]));
                scale = Math.max(scale, Math.abs(want[k]));
            }
            assertTrue(moved > 1e-3 * scale, p.name() + " hardly moved: nothing was checked");
            for (int k = 0; k < got.length; k++) {
                assertEquals(want[k], got[k], 1e-5 * scale, p.name() + "[" + k + "]");
            }
            assertEquals(b.steps(pb.get(i)), a.steps(p), p.name() + " steps");
            boolean affineWeight = DataParallel.affines(fused.model()).stream().anyMatch(l -> l.weight().value() == p.value());
            if (!affineWeight) {
                assertArrayEquals(pb.get(i).grad().toArray(), p.grad().toArray(), 1e-5f, p.name() + " gradient");
            } else {
                for (float g : p.grad().toArray()) assertEquals(0f, g, p.name() + ": dW was written, the update was not fused");
            }
        }
        assertEquals(steps, a.steps(pa.get(0)));
    }

    @ParameterizedTest
    @MethodSource("dev.panamann.testutil.NumGrad#backends")
    void otherRulesAndSmallBatchesRunTheTwoCallsToTheBit(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(9);
        // Adam has state: not fusable, so trainStep is loss then step
        try (DataParallel one = DataParallel.of(ops, twoLayer(0.05f), 2); DataParallel two = DataParallel.of(ops, twoLayer(0.05f), 2);
             Optimizer a = new Adam(1e-2); Optimizer b = new Adam(1e-2); Tensor x = Tensor.randn(rng, 1f, 32, 20)) {
            assertFalse(a.fusable());
            assertThrows(UnsupportedOperationException.class, () -> a.fusedDecay(one.params().get(0)));
            assertThrows(UnsupportedOperationException.class, () -> a.countFusedStep(one.params().get(0)));
            assertBitIdentical(one, two, a, b, x, Labels.random(rng, 32, 6));
        }
        // 12 images: fewer than two replicas' worth, the model runs the batch itself, unfused
        try (DataParallel one = DataParallel.of(ops, twoLayer(0.05f), 2); DataParallel two = DataParallel.of(ops, twoLayer(0.05f), 2);
             Optimizer a = new Sgd(0.5, 0.01); Optimizer b = new Sgd(0.5, 0.01); Tensor x = Tensor.randn(rng, 1f, 12, 20)) {
            assertTrue(a.fusable());
            assertBitIdentical(one, two, a, b, x, Labels.random(rng, 12, 6));
        }
        // no replicas at all: the default of Model
        try (DataParallel one = DataParallel.of(ops, twoLayer(0.05f), 0); DataParallel two = DataParallel.of(ops, twoLayer(0.05f), 0);
             Optimizer a = new Sgd(0.5); Optimizer b = new Sgd(0.5); Tensor x = Tensor.randn(rng, 1f, 32, 20)) {
            assertBitIdentical(one, two, a, b, x, Labels.random(rng, 32, 6));
        }
    }

    private static void assertBitIdentical(Model one, Model two, Optimizer a, Optimizer b, Tensor x, int[] y) {
        two.loadStateDict(one.stateDict());
        for (int s = 0; s < 2; s++) {
            float la = one.trainStep(x, y, a);
            float lb = two.loss(x, y);
            b.step(two.params());
            assertEquals(lb, la, "loss of step " + s);
        }
        for (int i = 0; i < one.params().size(); i++) {
            Param p = one.params().get(i), q = two.params().get(i);
            assertArrayEquals(q.value().toArray(), p.value().toArray(), p.name());
            assertArrayEquals(q.grad().toArray(), p.grad().toArray(), p.name() + " gradient");
        }
    }
}
