package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.Ops;
import dev.panamann.optim.Adam;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.SgdMomentum;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Training with the convolution weights held in oneDNN's layout between steps gives the same
 * losses, weights and optimizer state, to the bit, as training with them row-major; in steady
 * state nothing is reordered (the order changes once, at the first step); reading the weights
 * mid-run (a checkpoint, a listener) gives the row-major values and the run goes on unchanged.
 */
class WeightOrderTrainingTest {
    private static final int STEPS = 6;

    /** The CIFAR net's layers at a smaller size: conv 7x7 (32) - relu - pool, affine, relu, affine. */
    static Model convNet(Ops o) {
        return new ThreeLayerConvNet(o, new int[] {3, 16, 16}, 32, 7, 20, 10, 1e-2f, 0f, 3);
    }

    /** Two conv-relu-pool layers: the second computes its input gradient (backward data reads the held weights). */
    static Model mnistCnn(Ops o) {
        return new MnistCnn(o, 12, 16, 32, 20, 0f, 0f, 5);
    }

    record Run(float[] losses, Map<String, float[]> values, Map<String, float[]> state, Map<String, Long> changes,
               Map<String, StorageOrder> orders) {}

    private static Run train(Function<Ops, Model> f, boolean orders, Supplier<Optimizer> optimizer, int channels, int size,
                             boolean readMidway) {
        Ops ops = Backs.nativeOps();
        Rng rng = new Rng(21);
        int n = 16;
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = rng.nextInt(10);
        try (Model m = f.apply(ops); Optimizer opt = optimizer.get(); Tensor x = Tensor.randn(rng, 1f, n, channels, size, size)) {
            List<Param> convWeights = new ArrayList<>();
            for (Param p : m.params()) {
                if (!orders) p.allowOtherOrders(false);
                if (p.value().rank() == 4) convWeights.add(p);
            }
            assertFalse(convWeights.isEmpty());
            float[] losses = new float[STEPS];
            Map<String, StorageOrder> held = new LinkedHashMap<>();
            Map<String, Long> changes = new LinkedHashMap<>();
            for (int s = 0; s < STEPS; s++) {
                losses[s] = m.trainStep(x, y, opt);
                if (s == 0) for (Param p : convWeights) held.put(p.name(), p.storageOrder());
                if (s == 1) for (Param p : convWeights) changes.put(p.name(), p.orderChanges());
                if (readMidway && s == 2) {
                    for (Param p : convWeights) {
                        p.value().toArray(); // what a checkpoint does
                        assertNull(p.storageOrder(), "reading " + p.name() + " puts it in row-major order");
                    }
                }
            }
            Map<String, float[]> values = new LinkedHashMap<>(), state = new LinkedHashMap<>();
            for (Param p : convWeights) {
                changes.put(p.name(), p.orderChanges() - changes.get(p.name()));
                values.put(p.name(), p.value().toArray());
                state.put(p.name(), opt.slot(p, opt.slotNames().get(0)).toArray());
            }
            return new Run(losses, values, state, changes, held);
        }
    }

    private static void assertSameRun(Run want, Run got, boolean readMidway) {
        assertArrayEquals(want.losses(), got.losses(), "losses");
        int held = 0;
        for (String k : want.values().keySet()) {
            assertArrayEquals(want.values().get(k), got.values().get(k), k);
            assertArrayEquals(want.state().get(k), got.state().get(k), k + " optimizer state");
            assertNull(want.orders().get(k), k + " stays row-major with orders off");
            assertEquals(0L, want.changes().get(k), k + " with orders off");
            if (got.orders().get(k) == null) {
                // oneDNN chose different forward and backward-weights layouts for it (e.g. the
                // 1-channel 5x5 conv under AVX2): it stays row-major and is reordered per call
                assertEquals(0L, got.changes().get(k), k + " row-major");
                continue;
            }
            held++;
            // steps 3..6: no reorder of W, dW or the state, except the read and the next step's adoption
            assertEquals(readMidway ? 2L : 0L, got.changes().get(k), k + ": order changes after step 2");
        }
        assertNotEquals(0, held, "a conv weight is held in oneDNN's layout after the first step");
    }

    @Test
    void theConvNetTrainsTheSameWithAdamAndMomentum() {
        for (Supplier<Optimizer> opt : List.<Supplier<Optimizer>>of(() -> new Adam(1e-3), () -> new SgdMomentum(1e-2, 0.9))) {
            Run rowMajor = train(WeightOrderTrainingTest::convNet, false, opt, 3, 16, false);
            assertSameRun(rowMajor, train(WeightOrderTrainingTest::convNet, true, opt, 3, 16, false), false);
            assertSameRun(rowMajor, train(WeightOrderTrainingTest::convNet, true, opt, 3, 16, true), true);
        }
    }

    @Test
    void aSecondConvolutionReadsTheHeldWeightsForItsInputGradient() {
        Supplier<Optimizer> adam = () -> new Adam(1e-3);
        Run rowMajor = train(WeightOrderTrainingTest::mnistCnn, false, adam, 1, 12, false);
        assertSameRun(rowMajor, train(WeightOrderTrainingTest::mnistCnn, true, adam, 1, 12, false), false);
    }

    /**
     * Saving the model and the optimizer after 3 steps (their tensors held in oneDNN's layout),
     * loading both into new objects and training 3 more steps ends where 6 uninterrupted steps
     * end, to the bit: what is saved is row-major, and what is loaded moves into the layout again.
     */
    @Test
    void aRunSavedAndLoadedMidwayEndsWhereAnUninterruptedRunEnds() {
        Ops ops = Backs.nativeOps();
        Rng rng = new Rng(31);
        int n = 16;
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = rng.nextInt(10);
        try (Tensor x = Tensor.randn(rng, 1f, n, 3, 16, 16)) {
            float[] whole = new float[STEPS], resumed = new float[STEPS];
            Map<String, float[]> wantValues = new LinkedHashMap<>(), wantState = new LinkedHashMap<>();
            try (Model m = convNet(ops); Optimizer opt = new Adam(1e-3)) {
                for (int s = 0; s < STEPS; s++) whole[s] = m.trainStep(x, y, opt);
                for (Param p : m.params()) {
                    wantValues.put(p.name(), p.value().toArray());
                    wantState.put(p.name(), opt.slot(p, "v").toArray());
                }
            }
            Map<String, Tensor> savedModel = new LinkedHashMap<>();
            Optimizer.StateDict savedOpt;
            List<Tensor> copies = new ArrayList<>();
            try (Model m = convNet(ops); Optimizer opt = new Adam(1e-3)) {
                for (int s = 0; s < STEPS / 2; s++) resumed[s] = m.trainStep(x, y, opt);
                boolean held = false;
                for (Param p : m.params()) held |= p.storageOrder() != null;
                assertTrue(held, "the conv weight is held in oneDNN's layout when saved");
                // the optimizer first: reading its state alone must put it in row-major order
                Optimizer.StateDict d = opt.stateDict();
                List<Optimizer.ParamState> states = new ArrayList<>();
                for (Optimizer.ParamState ps : d.params()) {
                    List<Tensor> slots = new ArrayList<>();
                    for (Tensor t : ps.slots()) {
                        Tensor c = t.copy();
                        copies.add(c);
                        slots.add(c);
                    }
                    states.add(new Optimizer.ParamState(ps.param(), ps.steps(), slots));
                }
                savedOpt = new Optimizer.StateDict(d.rule(), d.learningRate(), d.slotNames(), states);
                m.stateDict().forEach((k, t) -> savedModel.put(k, t.copy()));
            }
            try (Model m = convNet(ops); Optimizer opt = new Adam(1e-3)) {
                m.loadStateDict(savedModel);
                opt.loadStateDict(m.params(), savedOpt);
                for (int s = STEPS / 2; s < STEPS; s++) resumed[s] = m.trainStep(x, y, opt);
                assertArrayEquals(whole, resumed, "losses");
                for (Param p : m.params()) {
                    assertArrayEquals(wantValues.get(p.name()), p.value().toArray(), p.name());
                    assertArrayEquals(wantState.get(p.name()), opt.slot(p, "v").toArray(), p.name() + " Adam v");
                }
            } finally {
                savedModel.values().forEach(Tensor::close);
                copies.forEach(Tensor::close);
            }
        }
    }

    @Test
    void dataParallelReplicasShareTheOrderOfTheirValues() {
        Supplier<Optimizer> adam = () -> new Adam(1e-3);
        Function<Ops, Model> dp = o -> DataParallel.of(o, WeightOrderTrainingTest::convNet, 2);
        Run rowMajor = train(dp, false, adam, 3, 16, false);
        assertSameRun(rowMajor, train(dp, true, adam, 3, 16, false), false);
        assertSameRun(rowMajor, train(dp, true, adam, 3, 16, true), true);
    }
}
