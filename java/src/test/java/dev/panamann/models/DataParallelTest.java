package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.loss.MulticlassHinge;
import dev.panamann.loss.SoftmaxCrossEntropy;
import dev.panamann.ops.Ops;
import dev.panamann.optim.Optimizer;
import dev.panamann.optim.Optimizers;
import dev.panamann.optim.UpdateThreads;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.GradientCheck;
import dev.panamann.testutil.GradAssert;
import dev.panamann.testutil.Labels;
import dev.panamann.testutil.NumGrad;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link DataParallel}: the replicas' step gives the model's own loss and gradients (the batch
 * split, the weighted sum, the L2 penalty once), updates reach the replicas through the shared
 * values, bad batches get the model's own errors, and models that cannot be split are refused.
 */
class DataParallelTest {
    static List<String> backends() { return NumGrad.backends(); }

    /** A small conv net with an L2 penalty: conv - ReLU - pool, affine - ReLU, affine. */
    static Function<Ops, Model> convNet(float reg) {
        return o -> new ThreeLayerConvNet(o, new int[] {3, 8, 8}, 4, 3, 12, 5, 1e-1f, reg, 3);
    }

    static Function<Ops, Model> twoLayer(float reg) {
        return o -> new TwoLayerNet(o, 20, 16, 6, 1e-1f, reg, 4);
    }

    /** A TwoLayerNet with a larger first layer (1000 x 300) and an L2 penalty. */
    static Model wideTwoLayer(Ops o) {
        return new TwoLayerNet(o, 1000, 300, 7, 1e-1f, 5e-2f, 6);
    }

    /** loss and every gradient of {@code dp} against a model of its own, with the same values, on the same batch. */
    private static void assertSameAsAlone(Ops ops, Function<Ops, Model> f, DataParallel dp, Tensor x, int[] y) {
        try (Model alone = f.apply(ops)) {
            alone.loadStateDict(dp.stateDict());
            double want = alone.lossDouble(x, y);
            double got = dp.lossDouble(x, y);
            assertEquals(want, got, 1e-5 * Math.abs(want), "loss");
            List<Param> a = alone.params(), b = dp.params();
            for (int i = 0; i < a.size(); i++) {
                NumGrad.assertAgree(a.get(i).name(), a.get(i).grad().toArray(), b.get(i).grad().toArray(), 2e-5);
                assertTrue(maxAbs(b.get(i).grad()) > 0, a.get(i).name() + " has a zero gradient: nothing was checked");
            }
        }
    }

    private static double maxAbs(Tensor t) {
        double m = 0;
        for (float v : t.toArray()) m = Math.max(m, Math.abs(v));
        return m;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void twoReplicasGiveTheModelsLossAndGradients(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(11);
        try (DataParallel dp = DataParallel.of(ops, convNet(1e-2f), 2); Tensor x = Tensor.randn(rng, 1f, 19, 3, 8, 8)) {
            assertEquals(2, dp.replicas());
            assertSameAsAlone(ops, convNet(1e-2f), dp, x, Labels.random(rng, 19, 5)); // slices of 10 and 9
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void threeReplicasGiveTheModelsLossAndGradients(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(12);
        try (DataParallel dp = DataParallel.of(ops, twoLayer(1e-2f), 3); Tensor x = Tensor.randn(rng, 1f, 26, 20)) {
            assertSameAsAlone(ops, twoLayer(1e-2f), dp, x, Labels.random(rng, 26, 6)); // 9, 9 and 8
        }
    }

    /**
     * A larger first layer (1000 x 300, its dW rows split between the threads) with the L2
     * penalty: the model's loss and gradients with 2 and 3 replicas, also once the penalty is
     * switched off and on again.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aLargerLayerWithAPenaltyGivesTheModelsLossAndGradients(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(21);
        Function<Ops, Model> f = DataParallelTest::wideTwoLayer;
        Function<Ops, Model> unpenalized = o -> {
            SequentialModel m = (SequentialModel) f.apply(o);
            m.setReg(0f);
            return m;
        };
        for (int replicas : new int[] {2, 3}) {
            try (DataParallel dp = DataParallel.of(ops, f, replicas); Tensor x = Tensor.randn(rng, 1f, 24, 1000)) {
                int[] y = Labels.random(rng, 24, 7);
                assertSameAsAlone(ops, f, dp, x, y);
                ((SequentialModel) dp.model()).setReg(0f);
                assertSameAsAlone(ops, unpenalized, dp, x, y);
                ((SequentialModel) dp.model()).setReg(5e-2f);
                assertSameAsAlone(ops, f, dp, x, y);
            }
        }
    }

    /**
     * A first layer's weight gradient reads the batch in place: after the first step no buffer is
     * kept for gathering its inputs, while a wide hidden layer (the conv net's) keeps gathering
     * them, and every step still gives the model's loss and gradients.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aFirstLayerKeepsNoGatherBuffer(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(31);
        Function<Ops, Model> wide = DataParallelTest::wideTwoLayer;
        try (DataParallel dp = DataParallel.of(ops, wide, 2)) {
            for (int s = 0; s < 3; s++) {
                try (Tensor x = Tensor.randn(rng, 1f, 24, 1000)) { // slices of 12: layer 0 merges (2 * 300 >= 24)
                    assertSameAsAlone(ops, wide, dp, x, Labels.random(rng, 24, 7));
                }
                assertEquals(s == 0, dp.gathersInputs(0), "step " + s + ": a buffer for the first layer's inputs");
                assertFalse(dp.gathersInputs(1), "the output layer (2 * 7 < 24) does not merge");
            }
        }
        try (DataParallel dp = DataParallel.of(ops, convNet(1e-2f), 2)) {
            // slices of 10: the hidden layer merges (2 * 12 >= 20); 10 and 9: products per replica,
            // the buffer kept for the next step
            for (int n : new int[] {20, 20, 19, 20}) {
                try (Tensor x = Tensor.randn(rng, 1f, n, 3, 8, 8)) {
                    assertSameAsAlone(ops, convNet(1e-2f), dp, x, Labels.random(rng, n, 5));
                }
                assertTrue(dp.gathersInputs(0), "batch of " + n + ": a buffer for the hidden layer's inputs");
            }
        }
    }

    /** The penalty is added once, with the model's current strength, also after a change. */
    @Test
    void theL2PenaltyFollowsTheModel() {
        Ops ops = NumGrad.ops("java");
        Rng rng = new Rng(13);
        try (DataParallel dp = DataParallel.of(ops, twoLayer(0f), 2); Tensor x = Tensor.randn(rng, 1f, 16, 20)) {
            int[] y = Labels.random(rng, 16, 6);
            double plain = dp.lossDouble(x, y);
            ((SequentialModel) dp.model()).setReg(0.5f);
            double penalized = dp.lossDouble(x, y);
            double sumSq = 0;
            for (Param p : ((SequentialModel) dp.model()).regularizedParams()) {
                for (float v : p.value().toArray()) sumSq += (double) v * v;
            }
            assertEquals(plain + 0.25 * sumSq, penalized, 1e-5 * penalized);
            assertSameAsAlone(ops, o -> { SequentialModel m = (SequentialModel) twoLayer(0f).apply(o); m.setReg(0.5f); return m; },
                    dp, x, y);
        }
    }

    /** A loss given through setLoss reaches every replica; one set on the model alone is caught. */
    @Test
    void theLossIsTheModelsOnEveryReplica() {
        Ops ops = NumGrad.ops("java");
        Rng rng = new Rng(20);
        try (DataParallel dp = DataParallel.of(ops, twoLayer(1e-2f), 2); Tensor x = Tensor.randn(rng, 1f, 16, 20)) {
            int[] y = Labels.random(rng, 16, 6);
            dp.setLoss(() -> new SoftmaxCrossEntropy(0.2f));
            assertSameAsAlone(ops, o -> ((SequentialModel) twoLayer(1e-2f).apply(o)).setLoss(new SoftmaxCrossEntropy(0.2f)), dp, x, y);
            dp.setLoss(MulticlassHinge::new);
            assertSameAsAlone(ops, o -> ((SequentialModel) twoLayer(1e-2f).apply(o)).setLoss(new MulticlassHinge()), dp, x, y);
            ((SequentialModel) dp.model()).setLoss(new SoftmaxCrossEntropy(0.1f));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> dp.loss(x, y));
            assertTrue(e.getMessage().contains("DataParallel.setLoss"), e.getMessage());
        }
    }

    /**
     * The library's numerical gradient check through the replicas (slices of 8 images), at the
     * small sizes of the model's own check (ConvNetModelsTest), with and without the penalty.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void numericalGradientCheck(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(14);
        for (float reg : new float[] {0f, 0.5f}) {
            try (DataParallel dp = DataParallel.of(ops, o -> new ThreeLayerConvNet(o, new int[] {3, 4, 4}, 4, 3, 6, 5, 0.3f, reg, 8), 2);
                 Tensor x = Tensor.randn(rng, 1f, 16, 3, 4, 4)) {
                var r = GradientCheck.checkModel(dp, x, Labels.random(rng, 16, 5), GradientCheck.STEP);
                assertEquals(6, r.size());
                GradAssert.allOk(backend + " DataParallel(ThreeLayerConvNet) reg " + reg, r);
            }
        }
    }

    /** Optimizer steps on the model's params reach the replicas: three steps as the model alone takes them. */
    @ParameterizedTest
    @MethodSource("backends")
    void updatesReachTheReplicas(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(15);
        try (DataParallel dp = DataParallel.of(ops, convNet(1e-3f), 2); Model alone = convNet(1e-3f).apply(ops);
             Optimizer o1 = Optimizers.create("adam", Map.of("learning_rate", 1e-2));
             Optimizer o2 = Optimizers.create("adam", Map.of("learning_rate", 1e-2));
             Tensor x = Tensor.randn(rng, 1f, 16, 3, 8, 8)) {
            alone.loadStateDict(dp.stateDict());
            int[] y = Labels.random(rng, 16, 5);
            double first = 0, last = 0;
            for (int s = 0; s < 3; s++) {
                double a = alone.lossDouble(x, y), b = dp.lossDouble(x, y);
                assertEquals(a, b, 1e-4 * Math.abs(a), "step " + s);
                if (s == 0) first = b;
                last = b;
                o1.step(alone.params());
                o2.step(dp.params());
            }
            assertNotEquals(first, last, "the steps changed nothing");
            for (int i = 0; i < alone.params().size(); i++) {
                NumGrad.assertAgree(alone.params().get(i).name(), alone.params().get(i).value().toArray(),
                        dp.params().get(i).value().toArray(), 1e-4);
            }
        }
    }

    /** Fewer than two replicas' worth of images: the model itself runs the batch, bit for bit. */
    @Test
    void aSmallBatchRunsOnTheModel() {
        Ops ops = NumGrad.ops("java");
        Rng rng = new Rng(16);
        int n = 2 * DataParallel.MIN_IMAGES_PER_REPLICA - 1;
        try (DataParallel dp = DataParallel.of(ops, twoLayer(1e-2f), 2); Model alone = twoLayer(1e-2f).apply(ops);
             Tensor x = Tensor.randn(rng, 1f, n, 20)) {
            alone.loadStateDict(dp.stateDict());
            int[] y = Labels.random(rng, n, 6);
            assertEquals(alone.lossDouble(x, y), dp.lossDouble(x, y));
            for (int i = 0; i < alone.params().size(); i++) {
                assertTrue(java.util.Arrays.equals(alone.params().get(i).grad().toArray(), dp.params().get(i).grad().toArray()));
            }
        }
    }

    /** A label out of range or a wrong input shape: the error the model alone gives for the whole batch. */
    @ParameterizedTest
    @MethodSource("backends")
    void badBatchesGetTheModelsErrors(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(17);
        try (DataParallel dp = DataParallel.of(ops, convNet(0f), 2); Model alone = convNet(0f).apply(ops);
             Tensor x = Tensor.randn(rng, 1f, 16, 3, 8, 8); Tensor wrong = Tensor.randn(rng, 1f, 16, 2, 8, 8)) {
            int[] y = Labels.random(rng, 16, 5);
            y[13] = 5; // in the second slice
            String want = assertThrows(IllegalArgumentException.class, () -> alone.loss(x, y)).getMessage();
            assertEquals(want, assertThrows(IllegalArgumentException.class, () -> dp.loss(x, y)).getMessage());
            int[] ok = Labels.random(rng, 16, 5);
            want = assertThrows(IllegalArgumentException.class, () -> alone.loss(wrong, ok)).getMessage();
            assertEquals(want, assertThrows(IllegalArgumentException.class, () -> dp.loss(wrong, ok)).getMessage());
            want = assertThrows(IllegalArgumentException.class, () -> alone.loss(x, new int[15])).getMessage();
            assertEquals(want, assertThrows(IllegalArgumentException.class, () -> dp.loss(x, new int[15])).getMessage());
            // and the next good batch trains as before
            assertSameAsAlone(ops, convNet(0f), dp, x, ok);
        }
    }

    /** auto: one replica per thread for the native backend with 2+ threads; a number sets the count; anything else is refused. */
    @Test
    void autoGivesReplicasWhereTheyPay() {
        String old = System.getProperty("panamann.replicas");
        System.clearProperty("panamann.replicas");
        try {
            try (DataParallel java = DataParallel.of(NumGrad.ops("java"), twoLayer(0f))) {
                assertEquals(0, java.replicas(), "pure Java");
            }
            if (!NumGrad.backends().contains("native")) return;
            Ops nat = NumGrad.ops("native");
            assertEquals(2, nat.threads());
            try (DataParallel small = DataParallel.of(nat, convNet(0f))) {
                assertEquals(2, small.replicas());
            }
            System.setProperty("panamann.replicas", "3");
            try (DataParallel three = DataParallel.of(nat, convNet(0f))) {
                assertEquals(3, three.replicas());
            }
            System.setProperty("panamann.replicas", "two");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DataParallel.of(nat, convNet(0f)));
            assertTrue(e.getMessage().contains("'two'"), e.getMessage());
        } finally {
            if (old == null) System.clearProperty("panamann.replicas");
            else System.setProperty("panamann.replicas", old);
        }
    }

    @Test
    void modelsWithBatchStatisticsOrDropoutAreRefused() {
        Ops ops = NumGrad.ops("java");
        Function<Ops, Model> bn = o -> new FullyConnectedNet(o, new int[] {8}, 20, 6,
                FullyConnectedNet.Options.DEFAULT.withBatchNorm(true).withSeed(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DataParallel.of(ops, bn, 2));
        assertTrue(e.getMessage().contains("buffers"), e.getMessage());
        Function<Ops, Model> dropout = o -> new FullyConnectedNet(o, new int[] {8}, 20, 6,
                FullyConnectedNet.Options.DEFAULT.withDropout(0.5f).withSeed(1));
        e = assertThrows(IllegalArgumentException.class, () -> DataParallel.of(ops, dropout, 2));
        assertTrue(e.getMessage().contains("dropout"), e.getMessage());
        try (DataParallel auto = DataParallel.of(ops, bn)) {
            assertEquals(0, auto.replicas());
        }
        assertThrows(IllegalArgumentException.class, () -> DataParallel.of(ops, twoLayer(0f), -1));
    }

    /** A factory that builds another architecture for a replica is caught before any step. */
    @Test
    void aFactoryThatBuildsAnotherModelIsRefused() {
        Ops ops = NumGrad.ops("java");
        int[] calls = {0};
        Function<Ops, Model> f = o -> new TwoLayerNet(o, 20, calls[0]++ == 0 ? 16 : 17, 6, 1e-1f, 0f, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DataParallel.of(ops, f, 2));
        assertTrue(e.getMessage().contains("same architecture"), e.getMessage());
    }

    /**
     * The replicas run on the library's worker threads when there are as many as replicas (no
     * thread of their own), else on threads of their own, started at the first step: the same
     * loss and gradients either way; close stops those threads, and later calls fail.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2, 3})
    void theReplicasRunOnTheWorkersOrOnTheirOwnThreads(int workers) {
        int before = UpdateThreads.threads();
        UpdateThreads.setThreads(workers);
        long aliveBefore = replicaThreadsAlive();
        Ops ops = NumGrad.ops("java");
        Rng rng = new Rng(18);
        try (Tensor x = Tensor.randn(rng, 1f, 16, 20)) {
            int[] y = Labels.random(rng, 16, 6);
            DataParallel dp = DataParallel.of(ops, twoLayer(1e-2f), 2);
            assertEquals(aliveBefore, replicaThreadsAlive(), "no thread before the first step");
            assertSameAsAlone(ops, twoLayer(1e-2f), dp, x, y);
            assertEquals(aliveBefore + (workers >= 2 ? 0 : 1), replicaThreadsAlive());
            dp.close();
            assertEquals(aliveBefore, replicaThreadsAlive());
            assertThrows(IllegalStateException.class, () -> dp.loss(x, y));
            assertThrows(IllegalStateException.class, () -> dp.scores(x));
            dp.close(); // twice is fine
        } finally {
            UpdateThreads.setThreads(before);
        }
    }

    /**
     * While another thread holds the library's worker threads, a step runs the replicas on
     * threads of their own instead of waiting, with the same loss and gradients.
     */
    @Test
    void aStepWhileTheWorkersAreBusyRunsOnTheReplicasOwnThreads() throws Exception {
        int before = UpdateThreads.threads();
        UpdateThreads.setThreads(2);
        long aliveBefore = replicaThreadsAlive();
        java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1),
                release = new java.util.concurrent.CountDownLatch(1);
        Thread other = new Thread(() -> UpdateThreads.tryRun(2, (part, parts) -> {
            if (part != 0) return;
            holding.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }));
        Ops ops = NumGrad.ops("java");
        Rng rng = new Rng(22);
        try (DataParallel dp = DataParallel.of(ops, twoLayer(1e-2f), 2); Tensor x = Tensor.randn(rng, 1f, 16, 20)) {
            other.start();
            assertTrue(holding.await(10, java.util.concurrent.TimeUnit.SECONDS));
            assertSameAsAlone(ops, twoLayer(1e-2f), dp, x, Labels.random(rng, 16, 6));
            assertEquals(aliveBefore + 1, replicaThreadsAlive(), "the second replica ran on a thread of its own");
        } finally {
            release.countDown();
            other.join();
            UpdateThreads.setThreads(before);
        }
    }

    private static long replicaThreadsAlive() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("panama-nn replica") && t.isAlive()).count();
    }

    /**
     * scores split over the replicas (19 images: slices of 10 and 9) match the model alone up to
     * rounding; a batch too small for two replicas (15) runs on the model itself; a bad batch gets
     * the model's own error.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void scoresAreTheModels(String backend) {
        Ops ops = NumGrad.ops(backend);
        Rng rng = new Rng(19);
        try (DataParallel dp = DataParallel.of(ops, convNet(0f), 2); Model alone = convNet(0f).apply(ops);
             Tensor x = Tensor.randn(rng, 1f, 19, 3, 8, 8); Tensor small = Tensor.randn(rng, 1f, 15, 3, 8, 8);
             Tensor bad = Tensor.randn(rng, 1f, 19, 2, 8, 8)) {
            alone.loadStateDict(dp.stateDict());
            for (Tensor t : new Tensor[] {x, small, x}) {
                float[] want = alone.scores(t).toArray();
                Tensor got = dp.scores(t);
                assertEquals(List.of(t.dim(0), 5), List.of(got.dim(0), got.dim(1)));
                NumGrad.assertAgree("scores of " + t.dim(0) + " images", want, got.toArray(), 1e-5);
                boolean onModel = got == dp.model().scores(t); // the model's own output buffer
                assertEquals(t == small, onModel, t.dim(0) + " images ran on the model itself: " + onModel);
            }
            // memory confined to this thread, which the workers cannot read: scored and trained on the
            // model itself (whose Java backend then runs its loops on this thread too)
            try (java.lang.foreign.Arena confined = java.lang.foreign.Arena.ofConfined()) {
                java.lang.foreign.MemorySegment m = confined.allocate(x.segment().byteSize(), 64);
                m.copyFrom(x.segment());
                Tensor own = Tensor.wrap(m, 19, 3, 8, 8);
                NumGrad.assertAgree("scores of confined memory", alone.scores(own).toArray(), dp.scores(own).toArray(), 1e-5);
                int[] y = Labels.random(rng, 19, 5);
                assertEquals(alone.lossDouble(own, y), dp.lossDouble(own, y), 1e-5);
            }
            String wantMessage = assertThrows(IllegalArgumentException.class, () -> alone.scores(bad)).getMessage();
            assertEquals(wantMessage, assertThrows(IllegalArgumentException.class, () -> dp.scores(bad)).getMessage());
            assertFalse(dp.toString().isEmpty());
        }
    }
}
