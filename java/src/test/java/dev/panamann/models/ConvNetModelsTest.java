package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.testutil.Legacy;
import dev.panamann.data.Cifar10;
import dev.panamann.data.Dataset;
import dev.panamann.data.Preprocess;
import dev.panamann.io.ModelIO;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.Labels;
import dev.panamann.testutil.GradAssert;
import dev.panamann.train.GradientCheck;
import dev.panamann.train.Solver;
import dev.panamann.train.TrainingListener;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Whole-model checks of the conv nets and of model state (batch-norm buffers) save/load. */
class ConvNetModelsTest {

    static Stream<Ops> backends() { return Backs.all().stream(); }

    @ParameterizedTest(autoCloseArguments = false) // the backends are shared
    @MethodSource("backends")
    void threeLayerConvNetGradientCheck(Ops ops) {
        Rng rng = new Rng(7);
        for (float reg : new float[] {0f, 0.5f}) {
            // small input: at 8x8 a float32 loss crosses ReLU/max-pool kinks within one step often
            // enough to fail a correct gradient for some seeds and CPUs
            try (ThreeLayerConvNet net = new ThreeLayerConvNet(ops, new int[] {3, 4, 4}, 4, 3, 6, 5, 0.3f, reg, 8);
                 Tensor x = Tensor.randn(rng, 1f, 3, 3, 4, 4)) {
                var r = GradientCheck.checkModel(net, x, Labels.random(rng, 3, 5), GradientCheck.STEP);
                assertEquals(List.of("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias"),
                        List.copyOf(r.keySet()));
                GradAssert.allOk(ops.name() + " ThreeLayerConvNet reg " + reg, r);
            }
        }
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("backends")
    void mnistCnnSparseGradientCheck(Ops ops) {
        Rng rng = new Rng(9);
        // the MNIST architecture at small sizes (4x4 input, 3 and 4 filters, 8 hidden): with the
        // full sizes a float32 loss crosses too many ReLU/max-pool kinks per step to check
        try (MnistCnn net = new MnistCnn(ops, 4, 3, 4, 8, 0f, 1e-2f, 10); // no dropout: the check needs a deterministic loss
             Tensor x = Tensor.randn(rng, 1f, 2, 1, 4, 4)) {
            var r = GradientCheck.checkModel(net, x, Labels.random(rng, 2, 10), GradientCheck.STEP);
            assertEquals(List.of("W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4"), r.keySet().stream().map(net.legacyNames()::get).toList());
            GradAssert.allOk(ops.name() + " MnistCnn", r);
        }
    }

    @Test
    void sparseCheckCatchesAWrongGradient() {
        // the sparse check must still see a bug: break W2's gradient of a small conv net by 2%
        Ops ops = Backs.java();
        Rng rng = new Rng(12);
        try (ThreeLayerConvNet inner = new ThreeLayerConvNet(ops, new int[] {1, 6, 6}, 2, 3, 4, 3, 0.3f, 0f, 13);
             Model net = new Model() {
                 @Override public Tensor scores(Tensor x) { return inner.scores(x); }
                 @Override public float loss(Tensor x, int[] y) { return (float) lossDouble(x, y); }
                 @Override public double lossDouble(Tensor x, int[] y) {
                     double l = inner.lossDouble(x, y);
                     Tensor g = inner.paramMap().get(Legacy.name(inner, "W2")).grad();
                     for (long i = 0; i < g.size(); i++) g.setFlat(i, g.getFlat(i) * 1.02f);
                     return l;
                 }
                 @Override public List<dev.panamann.tensor.Param> params() { return inner.params(); }
                 @Override public int numClasses() { return inner.numClasses(); }
                 @Override public void close() {}
             };
             Tensor x = Tensor.randn(rng, 1f, 2, 1, 6, 6)) {
            var r = GradientCheck.checkModel(net, x, Labels.random(rng, 2, 3), GradientCheck.STEP, 5, 14);
            String w2 = Legacy.name(inner, "W2");
            assertTrue(!r.get(w2).ok(GradientCheck.TOLERANCE), "a 2% error in W2's gradient passed: " + r.get(w2));
        }
    }

    @Test
    void badConvNetConfigurationsAreRejected() {
        Ops ops = Backs.java();
        assertThrows(IllegalArgumentException.class, () -> new ThreeLayerConvNet(ops, new int[] {3, 31, 32}, 4, 3, 6, 5, 1e-3f, 0f, 1));
        assertThrows(IllegalArgumentException.class, () -> new ThreeLayerConvNet(ops, new int[] {3, 32, 32}, 4, 4, 6, 5, 1e-3f, 0f, 1));
        try (ThreeLayerConvNet net = new ThreeLayerConvNet(ops, new int[] {3, 8, 8}, 4, 3, 6, 5, 1e-3f, 0f, 1);
             Tensor wrongChannels = Tensor.zeros(2, 1, 8, 8)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> net.scores(wrongChannels));
            assertTrue(e.getMessage().contains("[2, 1, 8, 8]"), e.getMessage());
        }
    }

    @Test
    void mnistCnnFullSizeShapes() {
        try (MnistCnn net = new MnistCnn(Backs.java(), 0.5f, 0f, 1); Tensor x = Tensor.zeros(3, 1, 28, 28)) {
            assertArrayEquals(new int[] {3, 10}, net.scores(x).shape());
            assertArrayEquals(new int[] {64 * 7 * 7, 1024}, net.paramMap().get(Legacy.name(net, "W3")).value().shape());
        }
    }

    /**
     * The cs231n sanity check: the conv net overfits 100 CIFAR-10 training images (native
     * backend; the Java backend computes the same, see the op agreement tests).
     */
    @Test
    void threeLayerConvNetOverfitsOneHundredCifarImages() throws Exception {
        Ops ops = Backs.nativeOps();
        Path archive = dev.panamann.testutil.SharedData.file("cifar10/" + Cifar10.ARCHIVE_NAME);
        try (Cifar10.Data data = Cifar10.load(archive, 100, 100);
             Tensor mean = Preprocess.subtractMeanImage(data.train(), data.test());
             ThreeLayerConvNet net = new ThreeLayerConvNet(ops, new int[] {3, 32, 32}, 32, 7, 100, 10, 1e-2f, 0f, 0)) {
            Dataset train = data.train();
            try (Solver solver = new Solver(net, train, data.test())
                    .updateRule("adam").optimConfig(Map.of("learning_rate", 1e-3))
                    .batchSize(50).numEpochs(15).verbose(false).seed(1)) {
                solver.train();
                float trainAcc = solver.checkAccuracy(train, null, 50);
                assertTrue(trainAcc >= 0.9f, ops.name() + ": training accuracy on 100 images after 15 epochs is " + trainAcc
                        + ", losses " + solver.lossHistory());
            }
        }
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("backends")
    void batchNormRunningStatisticsAreSavedAndLoaded(Ops ops) throws Exception {
        Rng rng = new Rng(20);
        FullyConnectedNet.Options opt = FullyConnectedNet.Options.DEFAULT.withBatchNorm(true).withSeed(21);
        Path dir = Path.of(System.getProperty("panamann.workDir", "target/test-work"), "bn-save-" + ops.name());
        Files.createDirectories(dir);
        Path file = dir.resolve("model.safetensors");
        try (FullyConnectedNet a = new FullyConnectedNet(ops, new int[] {5}, 4, 3, opt);
             FullyConnectedNet b = new FullyConnectedNet(ops, new int[] {5}, 4, 3, opt.withSeed(22));
             Tensor x = Tensor.randn(rng, 3f, 6, 4)) {
            a.loss(x, Labels.random(rng, 6, 3)); // a training pass moves the running statistics away from their start
            assertEquals(List.of("layers.1.running_mean", "layers.1.running_var"), List.copyOf(a.buffers().keySet()));
            ModelIO.save(a, file);
            ModelIO.load(b, file);
            for (String k : a.buffers().keySet()) {
                assertArrayEquals(a.buffers().get(k).toArray(), b.buffers().get(k).toArray(), k);
            }
            assertTrue(a.buffers().get(Legacy.name(a, "running_mean1")).toArray()[0] != 0f, "running mean did not move");
            float[] sa = a.scores(x).toArray(), sb = b.scores(x).toArray();
            assertArrayEquals(sa, sb, "eval scores after load");
        }
    }

    @Test
    void solverRestoresBestBatchNormStatistics() throws Exception {
        // best-params restore must cover buffers too: after train() the eval scores equal those
        // the model had at its best validation check, running statistics included
        Ops ops = Backs.java();
        Rng rng = new Rng(30);
        try (Tensor xt = Tensor.randn(rng, 1f, 40, 4); Tensor xv = Tensor.randn(rng, 1f, 20, 4);
             FullyConnectedNet net = new FullyConnectedNet(ops, new int[] {8}, 4, 3,
                     FullyConnectedNet.Options.DEFAULT.withBatchNorm(true).withWeightScale(0.5f).withSeed(31))) {
            Dataset train = new Dataset(xt, Labels.random(rng, 40, 3)), val = new Dataset(xv, Labels.random(rng, 20, 3));
            ByteArrayOutputStream sink = new ByteArrayOutputStream();
            final float[][] bestMean = new float[1][];
            try (Solver s = new Solver(net, train, val).batchSize(10).numEpochs(4).out(new PrintStream(sink))
                    .verbose(false).seed(2).optimConfig(Map.of("learning_rate", 0.05))
                    .addListener(new TrainingListener() {
                        @Override
                        public void onCheck(Solver solver, Check c) {
                            if (c.improved()) bestMean[0] = net.buffers().get(Legacy.name(net, "running_mean1")).toArray();
                        }
                    })) {
                s.train();
            }
            assertArrayEquals(bestMean[0], net.buffers().get(Legacy.name(net, "running_mean1")).toArray());
        }
    }
}
