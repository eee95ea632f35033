package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.data.Cifar10;
import dev.panamann.data.Dataset;
import dev.panamann.data.Preprocess;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.Labels;
import dev.panamann.testutil.NumGrad;
import dev.panamann.train.Solver;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class VggSmallTest {

    static Stream<Ops> backends() { return Backs.all().stream(); }

    @Test
    void namesShapesFlopsAndParamCount() {
        try (VggSmall net = new VggSmall(Backs.java(), new int[] {3, 32, 32}, 16, 10, 0f, 1); Tensor x = Tensor.zeros(2, 3, 32, 32)) {
            Map<String, Param> p = net.paramMap();
            assertEquals(List.of("layers.0.stage1.0.conv.weight", "layers.0.stage1.0.conv.bias", "layers.0.stage1.0.bn.weight",
                    "layers.0.stage1.0.bn.bias", "layers.1.stage1.1.conv.weight"), List.copyOf(p.keySet()).subList(0, 5));
            assertArrayEquals(new int[] {128, 128, 3, 3}, p.get("layers.10.stage4.1.conv.weight").value().shape());
            assertArrayEquals(new int[] {128, 10}, p.get("layers.12.weight").value().shape());
            assertEquals(16, net.buffers().size());
            assertTrue(net.buffers().containsKey("layers.3.stage2.0.bn.running_mean"), net.buffers().keySet().toString());
            long count = 0;
            for (Param q : net.params()) count += q.value().size();
            assertEquals(VggSmall.paramCount(3, 16, 10), count);
            assertArrayEquals(new int[] {2, 10}, net.scores(x).shape());
            // ~27 MFLOP per image at width 16: two 3x3 convolutions per stage at 32, 16, 8 and 4 pixels
            long macs = 3 * 16 * 9 * 1024 + 16 * 16 * 9 * 1024 + 16 * 32 * 9 * 256 + 32 * 32 * 9 * 256 + 32 * 64 * 9 * 64
                    + 64 * 64 * 9 * 64 + 64 * 128 * 9 * 16 + 128 * 128 * 9 * 16 + 128 * 10;
            assertEquals(2 * macs, VggSmall.forwardFlops(new int[] {3, 32, 32}, 16, 10));
        }
        assertThrows(IllegalArgumentException.class, () -> new VggSmall(Backs.java(), new int[] {3, 30, 30}, 4, 10, 0f, 1));
        assertThrows(IllegalArgumentException.class, () -> new VggSmall(Backs.java(), new int[] {3, 32, 16}, 4, 10, 0f, 1));
        assertThrows(IllegalArgumentException.class, () -> new VggSmall(Backs.java(), new int[] {3, 32, 32}, 0, 10, 0f, 1));
    }

    @ParameterizedTest(autoCloseArguments = false)
    @MethodSource("backends")
    void savedAndLoadedWithRunningStatistics(Ops ops) throws Exception {
        Rng rng = new Rng(6);
        try (VggSmall a = new VggSmall(ops, new int[] {3, 8, 8}, 2, 4, 0f, 7); VggSmall b = new VggSmall(ops, new int[] {3, 8, 8}, 2, 4, 0f, 8);
             Tensor x = Tensor.randn(rng, 1f, 3, 3, 8, 8)) {
            SaveLoad.assertRoundTrip(a, b, x, Labels.random(rng, 3, 4), "vgg-save-" + ops.name());
        }
    }

    @Test
    void backendsAgreeOverSteps() {
        Ops nat = Backs.nativeOps();
        Rng rng = new Rng(9);
        try (VggSmall j = new VggSmall(Backs.java(), new int[] {3, 16, 16}, 4, 10, 1e-3f, 10);
             VggSmall n = new VggSmall(nat, new int[] {3, 16, 16}, 4, 10, 1e-3f, 10)) {
            for (int step = 0; step < 2; step++) {
                try (Tensor x = Tensor.randn(rng, 1f, 6, 3, 16, 16)) {
                    int[] y = Labels.random(rng, 6, 10);
                    assertEquals(j.lossDouble(x, y), n.lossDouble(x, y), 1e-4);
                    NumGrad.assertAgree("gradients", j.gradients().toArray(), n.gradients().toArray(), 1e-4);
                    NumGrad.assertAgree("eval scores", j.scores(x).toArray(), n.scores(x).toArray(), 1e-4);
                    // the same small step on both, so the second pass runs on moved weights and running statistics
                    for (int k = 0; k < j.params().size(); k++) {
                        Tensor wj = j.params().get(k).value(), wn = n.params().get(k).value(), g = j.params().get(k).grad();
                        for (long i = 0; i < wj.size(); i++) {
                            float v = wj.getFlat(i) - 0.05f * g.getFlat(i);
                            wj.setFlat(i, v);
                            wn.setFlat(i, v);
                        }
                    }
                }
            }
        }
    }

    /** The VGG-style net overfits 50 real CIFAR-10 training images (native backend, a few seconds). */
    @Test
    void overfitsFiftyCifarImages() throws Exception {
        Ops ops = Backs.nativeOps();
        Path archive = dev.panamann.testutil.SharedData.file("cifar10/" + Cifar10.ARCHIVE_NAME);
        try (Cifar10.Data data = Cifar10.load(archive, 50, 50);
             Tensor mean = Preprocess.subtractMeanImage(data.train(), data.test());
             VggSmall net = new VggSmall(ops, new int[] {3, 32, 32}, 8, 10, 0f, 0)) {
            Dataset train = data.train();
            try (Solver solver = new Solver(net, train, data.test())
                    .updateRule("adam").optimConfig(Map.of("learning_rate", 2e-3))
                    .batchSize(25).numEpochs(30).verbose(false).seed(1)) {
                solver.train();
                // the fit is measured with the statistics the training normalized with (one batch of all
                // 50, TRAIN mode): in evaluation mode the running statistics over batches of 25 trail the
                // weights, and that accuracy varies with the seed (0.94 to 1.0 over model seeds 0-3, also
                // after 50 epochs) while the training loss is below 0.1 for all
                Tensor scores = net.layers().forward(train.x(), dev.panamann.layers.Mode.TRAIN);
                int[] pred = new int[50];
                dev.panamann.train.Evaluation.argmaxRows(scores, 50, pred, 0);
                double trainAcc = dev.panamann.train.Evaluation.accuracy(pred, train.y());
                assertTrue(trainAcc >= 0.98, "training accuracy (batch statistics) on 50 images after 30 epochs is " + trainAcc
                        + ", losses " + solver.lossHistory());
            }
        }
    }
}
