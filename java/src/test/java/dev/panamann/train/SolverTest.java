package dev.panamann.train;

import dev.panamann.testutil.BlobData;

import dev.panamann.testutil.TinyNet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.data.Dataset;
import dev.panamann.io.ModelIO;
import dev.panamann.tensor.Param;
import dev.panamann.models.FullyConnectedNet;
import dev.panamann.models.Model;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SolverTest extends BlobData {

    static TinyNet net(Ops ops, long seed) {
        return new TinyNet(ops, D, 16, C, 1e-3f, 0.1f, new Rng(seed));
    }

    static Solver quiet(Solver s) {
        return s.verbose(false);
    }

    @Test
    void trainsAndEndsWithTheBestValidationParameters() throws IOException {
        try (TinyNet model = net(Backs.java(), 1);
             Solver s = quiet(new Solver(model, train, val)).updateRule("sgd_momentum")
                     .optimConfig(Map.of("learning_rate", 0.05)).batchSize(30).numEpochs(5)) {
            float before = s.checkAccuracy(val, null, 50);
            s.train();
            assertEquals(5 * 10, s.lossHistory().size(), "numEpochs * numTrain / batchSize iterations");
            assertEquals(6, s.valAccHistory().size(), "a check after iteration 1 and after every epoch");
            assertEquals(6, s.trainAccHistory().size());
            assertEquals(5, s.epoch());
            float best = s.bestValAcc();
            assertEquals(s.valAccHistory().stream().max(Float::compare).orElseThrow(), best);
            assertTrue(best > 0.8f && best > before + 0.3f, "learns the blobs: val acc " + before + " -> " + best);
            assertEquals(best, s.checkAccuracy(val, null, 7), "the model holds the best validation parameters");
            float firstLoss = avg(s.lossHistory().subList(0, 10)), lastLoss = avg(s.lossHistory().subList(40, 50));
            assertTrue(lastLoss < 0.7 * firstLoss, "loss falls: " + firstLoss + " -> " + lastLoss);
        }
    }

    static float avg(List<Float> l) {
        return (float) l.stream().mapToDouble(Float::doubleValue).average().orElseThrow();
    }

    @Test
    void iterationsPerEpochIsAtLeastOne() {
        try (ProbeModel m = new ProbeModel(C); Solver s = new Solver(m, train, val)) {
            assertEquals(3, s.batchSize(100).iterationsPerEpoch());
            assertEquals(1, new Solver(m, train, val).batchSize(1000).iterationsPerEpoch());
            assertEquals(1, new Solver(m, train, val).batchSize(1000).numEpochs(7).numIterations() / 7);
        }
    }

    @Test
    void learningRateDecaysOncePerEpoch() throws IOException {
        try (ProbeModel m = new ProbeModel(C);
             Solver s = quiet(new Solver(m, train, val)).optimConfig(Map.of("learning_rate", 0.1)).lrDecay(0.5)
                     .batchSize(100).numEpochs(3)) {
            List<Double> lrs = new ArrayList<>();
            s.addListener(new TrainingListener() {
                @Override
                public void afterStep(Solver solver, Progress p) { lrs.add(s.learningRate()); }
            });
            s.train();
            assertEquals(List.of(0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025), lrs);
            assertEquals(0.0125, s.learningRate(), 1e-15);
        }
    }

    @Test
    void aReplacedAccuracyCheckMeasuresTheChecksAndPicksTheBest() throws IOException {
        try (ProbeModel m = new ProbeModel(C);
             Solver s = quiet(new Solver(m, train, val)).optimConfig(Map.of("learning_rate", 0.01)).batchSize(100).numEpochs(3)) {
            List<String> asked = new ArrayList<>();
            float[] next = {0.5f, 0.25f, 0.75f, 0.5f};
            s.accuracyCheck((solver, data, n, batch) -> {
                asked.add((data == train ? "train " : data == val ? "val " : "other ") + batch);
                return data == train ? 0.125f : next[s.valAccHistory().size()];
            });
            s.train();
            assertEquals(List.of("train 100", "val 100", "train 100", "val 100", "train 100", "val 100", "train 100", "val 100"), asked);
            assertEquals(List.of(0.5f, 0.25f, 0.75f, 0.5f), s.valAccHistory());
            assertEquals(List.of(0.125f, 0.125f, 0.125f, 0.125f), s.trainAccHistory());
            assertEquals(0.75f, s.bestValAcc());
            assertThrows(IllegalArgumentException.class, () -> s.accuracyCheck(null));
        }
    }

    /** With loss 0.5||W||^2 an SGD step is -lr*W, so ||update|| / ||W|| is exactly lr. */
    @Test
    void updateRatiosAreMeasuredEveryPrintEvery() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (ProbeModel m = new ProbeModel(C);
             Solver s = new Solver(m, train, val).optimConfig(Map.of("learning_rate", 0.01)).batchSize(50).numEpochs(2)
                     .printEvery(4).monitorUpdateRatios(true).out(new PrintStream(buf, true, StandardCharsets.UTF_8))) {
            s.train();
            assertEquals(List.of(1, 5, 9), s.updateRatioIterations());
            List<Float> r = s.updateRatioHistory().get("W");
            assertEquals(3, r.size());
            for (float v : r) assertEquals(0.01, v, 1e-5);
            assertEquals(r.get(2), s.updateRatios().get("W"));
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("update/weight ratio: W 1.00e-02"), text);
    }

    @Test
    void plainLinesFollowCs231n() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (ProbeModel m = new ProbeModel(C);
             Solver s = new Solver(m, train, val).batchSize(100).numEpochs(2).printEvery(2)
                     .out(new PrintStream(buf, true, StandardCharsets.UTF_8))) {
            s.train();
        }
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        assertTrue(lines[0].matches("\\(Iteration 1 / 6\\) loss: [0-9.]+, [0-9.]+ images/s, ETA \\d+:\\d\\d:\\d\\d"), lines[0]);
        assertTrue(lines[1].matches("\\(Epoch 0 / 2\\) train acc: [0-9.]+; val_acc: [0-9.]+"), lines[1]);
        assertTrue(lines[2].startsWith("(Iteration 3 / 6)"), lines[2]);
        assertTrue(lines[3].matches("\\(Epoch 1 / 2\\) train acc: [0-9.]+; val_acc: [0-9.]+; [0-9.]+ images/s this epoch"), lines[3]);
        assertEquals(6, lines.length, String.join("\n", lines));
        assertTrue(lines[5].startsWith("(Epoch 2 / 2) train acc: "), lines[5]);
        assertFalse(String.join("", lines).contains("\r"));
    }

    @Test
    void progressBarRedrawsInPlace() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (ProbeModel m = new ProbeModel(C);
             Solver s = new Solver(m, train, val).batchSize(100).numEpochs(2).progressBar(true)
                     .out(new PrintStream(buf, true, StandardCharsets.UTF_8))) {
            s.train();
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("\rEpoch 1/2 [") && text.contains("3/3 loss ") && text.contains("img/s | ETA "), text);
        assertTrue(text.contains("(Epoch 2 / 2) train acc: "), text);
    }

    @Test
    void silentWhenNotVerbose() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (ProbeModel m = new ProbeModel(C);
             Solver s = new Solver(m, train, val).numEpochs(1).verbose(false).out(new PrintStream(buf))) {
            s.train();
        }
        assertEquals(0, buf.size());
    }

    @Test
    void listenerSeesEveryIterationAndCheck() throws IOException {
        List<TrainingListener.Progress> its = new ArrayList<>();
        List<TrainingListener.Check> checks = new ArrayList<>();
        try (ProbeModel m = new ProbeModel(C);
             Solver s = quiet(new Solver(m, train, val)).batchSize(100).numEpochs(3).checkpointName(dir.resolve("ck/run").toString())) {
            s.addListener(new TrainingListener() {
                @Override
                public void afterStep(Solver solver, Progress p) { its.add(p); }

                @Override
                public void onCheck(Solver solver, Check c) { checks.add(c); }
            });
            s.train();
        }
        assertEquals(9, its.size());
        assertEquals(9, its.get(8).iteration());
        assertEquals(9, its.get(8).numIterations());
        assertEquals(0.0, its.get(8).etaSeconds());
        assertTrue(its.get(8).imagesPerSecond() > 0);
        assertEquals(4, checks.size());
        assertEquals(List.of(0, 1, 2, 3), checks.stream().map(TrainingListener.Check::epoch).toList());
        assertTrue(checks.get(0).improved());
        for (int e = 0; e <= 3; e++) {
            Path p = dir.resolve("ck/run_epoch_" + e + ".safetensors");
            assertEquals(p, checks.get(e).checkpoint());
            assertTrue(Files.exists(p), p.toString());
        }
    }

    /**
     * The hooks of an iteration run in order, and afterBackward sees this minibatch's gradient
     * before the optimizer does: halving it there (as an average over two workers would)
     * halves the SGD steps. ProbeModel's gradient is W, so each step is W *= 1 - lr / 2.
     */
    @Test
    void listenerHooksRunInOrderAndAfterBackwardReachesTheUpdate() throws IOException {
        List<String> calls = new ArrayList<>();
        try (ProbeModel m = new ProbeModel(C);
             Solver s = quiet(new Solver(m, train, val)).optimConfig(Map.of("learning_rate", 0.1)).batchSize(100).numEpochs(1)) {
            float[] w0 = m.params().get(0).value().toArray();
            float[][] last = new float[1][];
            s.addListener(new TrainingListener() {
                @Override
                public void onTrainStart(Solver solver) { calls.add("start"); }

                @Override
                public void beforeStep(Solver solver, int iteration) { calls.add("before " + iteration); }

                @Override
                public void afterBackward(Solver solver, int iteration, float loss) {
                    calls.add("backward " + iteration);
                    Param p = solver.params().get(0);
                    assertArrayEquals(p.value().toArray(), p.grad().toArray(), "the gradient of this step is there");
                    for (long i = 0; i < p.grad().size(); i++) p.grad().setFlat(i, p.grad().getFlat(i) * 0.5f);
                }

                @Override
                public void afterStep(Solver solver, Progress p) {
                    calls.add("after " + p.iteration());
                    last[0] = solver.params().get(0).value().toArray();
                }

                @Override
                public void onCheck(Solver solver, Check c) { calls.add("check " + c.epoch()); }

                @Override
                public void onTrainEnd(Solver solver) { calls.add("end"); }
            });
            s.train();
            assertEquals(List.of("start", "before 0", "backward 0", "after 1", "check 0", "before 1", "backward 1", "after 2",
                    "before 2", "backward 2", "after 3", "check 1", "end"), calls);
            float[] w = last[0]; // the model itself ends with the best parameters (here those of the first check)
            for (int i = 0; i < w.length; i++) {
                float expected = w0[i];
                for (int k = 0; k < 3; k++) expected -= 0.1f * (expected * 0.5f);
                assertEquals(expected, w[i], 1e-6f * Math.abs(w0[i]), "element " + i);
            }
        }
    }

    @Test
    void onTrainEndRunsWhenTrainingStops() throws IOException {
        List<String> calls = new ArrayList<>();
        try (ProbeModel m = new ProbeModel(C); Solver s = quiet(new Solver(m, train, val)).batchSize(100).numEpochs(2)) {
            s.addListener(new TrainingListener() {
                @Override
                public void afterStep(Solver solver, Progress p) {
                    calls.add("after " + p.iteration());
                    if (p.iteration() == 2) throw new Stop();
                }

                @Override
                public void onTrainEnd(Solver solver) { calls.add("end"); }
            });
            assertThrows(Stop.class, s::train);
            assertEquals(List.of("after 1", "after 2", "end"), calls);
            assertEquals(2, s.iteration());
        }
    }

    @Test
    void scheduleSetsTheRateAtEveryEpochEnd() throws IOException {
        try (ProbeModel m = new ProbeModel(C);
             Solver s = quiet(new Solver(m, train, val)).optimConfig(Map.of("learning_rate", 0.1))
                     .schedule(dev.panamann.optim.LrSchedule.step(2, 0.5)).batchSize(100).numEpochs(5)) {
            List<Double> rates = new ArrayList<>();
            s.addListener(new TrainingListener() {
                @Override
                public void onCheck(Solver solver, Check c) { rates.add(c.learningRate()); }
            });
            s.train();
            assertEquals(List.of(0.1, 0.1, 0.05, 0.05, 0.025, 0.025), rates, "first check, then one per epoch");
            assertThrows(IllegalStateException.class, () -> s.schedule(dev.panamann.optim.LrSchedule.constant()));
        }
    }

    /** A per-iteration schedule sets the rate before every update: the optimizer steps with rateAt(t). */
    @Test
    void perIterationScheduleSetsTheRateBeforeEveryStep() throws IOException {
        dev.panamann.optim.LrSchedule one = dev.panamann.optim.LrSchedule.oneCycle(0.3, 10, 100);
        try (ProbeModel m = new ProbeModel(C);
             Solver s = quiet(new Solver(m, train, val)).optimConfig(Map.of("learning_rate", 0.5)).schedule(one)
                     .batchSize(100).numEpochs(4)) {
            List<Double> lrs = new ArrayList<>();
            s.addListener(new TrainingListener() {
                @Override
                public void afterStep(Solver solver, Progress p) { lrs.add(s.learningRate()); }
            });
            s.train();
            assertEquals(12, lrs.size());
            for (int t = 0; t < 12; t++) assertEquals(one.rateAt(0.5, t, 3, 4), lrs.get(t), 0.0, "step " + t);
            assertEquals(0.05, lrs.get(0), 1e-12, "one-cycle starts at peak / divFactor");
        }
    }

    /**
     * Evaluation runs batch norm in inference mode: the running statistics are used (not the
     * batch's), so a prediction does not depend on the batch it is in, and checks leave the
     * running statistics as they were.
     */
    @Test
    void evaluationUsesBatchNormInInferenceMode() throws IOException {
        for (Ops ops : Backs.all()) {
            try (FullyConnectedNet m = dropoutNet(ops, 2, 0f); Solver s = configured(m, 2, null)) {
                s.train();
                assertFalse(m.buffers().isEmpty(), "the net has batch-norm running statistics");
                float[][] running = m.buffers().values().stream().map(Tensor::toArray).toArray(float[][]::new);
                int[] alone = Evaluation.predict(m, val, 1), batched = Evaluation.predict(m, val, 64);
                assertArrayEquals(alone, batched, ops.name() + ": predictions depend on the batch");
                s.checkAccuracy(val, null, 32);
                s.checkAccuracy(train, 50, 25);
                float[][] after = m.buffers().values().stream().map(Tensor::toArray).toArray(float[][]::new);
                assertArrayEquals(bits(running), bits(after), ops.name() + ": evaluation changed the running statistics");
            }
        }
    }

    /** checkAccuracy in batches that do not divide N, and on a random subsample. */
    @Test
    void checkAccuracyCountsArgmaxMatches() {
        int n = 10;
        try (Tensor x = Tensor.zeros(n, 2); ProbeModel m = new ProbeModel(C)) {
            int[] y = new int[n];
            for (int i = 0; i < n; i++) {
                x.set(i % C, i, 0);
                y[i] = i < 7 ? i % C : (i + 1) % C; // 7 of 10 right
            }
            Dataset d = new Dataset(x, y);
            try (Solver s = new Solver(m, d, d)) {
                assertEquals(0.7f, s.checkAccuracy(d, null, 3));
                assertEquals(0.7f, s.checkAccuracy(d, 0, 100));
                assertEquals(0.7f, s.checkAccuracy(d, 10, 4));
                float sub = s.checkAccuracy(d, 4, 3);
                assertEquals(0, (sub * 4) % 1, 1e-6, "a fraction of 4 samples: " + sub);
            }
        }
    }

    // ------------------------------------------------------------------ checkpoint / resume

    static float[][] values(TinyNet m) {
        return m.params().stream().map(p -> p.value().toArray()).toArray(float[][]::new);
    }

    static int[] bits(float[][] v) {
        return java.util.Arrays.stream(v).flatMapToInt(a -> {
            int[] b = new int[a.length];
            for (int i = 0; i < a.length; i++) b[i] = Float.floatToRawIntBits(a[i]);
            return java.util.Arrays.stream(b);
        }).toArray();
    }

    Solver configured(TinyNet model, String rule, int epochs, String ckpt) {
        return quiet(new Solver(model, train, val)).updateRule(rule).optimConfig(Map.of("learning_rate", 0.02))
                .lrDecay(0.9).batchSize(40).numEpochs(epochs).numTrainSamples(100).seed(7).checkpointName(ckpt);
    }

    static final class Stop extends RuntimeException {
        Stop() { super("simulated interruption"); }
    }

    /**
     * 4 epochs straight equal 2 epochs, an interruption, a new solver and model resumed from the
     * epoch-2 checkpoint, and the remaining epochs: bit-identical parameters and histories.
     */
    @Test
    void interruptedRunResumesBitIdentically() throws IOException {
        for (Ops ops : Backs.all()) {
            for (String rule : List.of("adam", "sgd_momentum")) {
                String tag = ops.name() + "/" + rule;
                float[][] straight;
                List<Float> loss, valAcc;
                float bestAcc;
                try (TinyNet m = net(ops, 1); Solver s = configured(m, rule, 4, null)) {
                    s.train();
                    straight = values(m);
                    loss = s.lossHistory();
                    valAcc = s.valAccHistory();
                    bestAcc = s.bestValAcc();
                    loss = List.copyOf(loss);
                    valAcc = List.copyOf(valAcc);
                }
                String ckName = dir.resolve(ops.name() + "-" + rule + "/run").toString();
                try (TinyNet m = net(ops, 1); Solver s = configured(m, rule, 4, ckName)) {
                    s.addListener(new TrainingListener() {
                        @Override
                        public void onCheck(Solver solver, Check c) { if (c.epoch() == 2) throw new Stop(); }
                    });
                    assertThrows(Stop.class, s::train);
                    assertEquals(2, s.epoch(), tag);
                }
                Path ck = Path.of(ckName + "_epoch_2.safetensors");
                try (TinyNet m = net(ops, 99); Solver s = configured(m, rule, 4, null)) {
                    s.resume(ck);
                    assertEquals(2, s.epoch(), tag);
                    assertEquals(2 * 7, s.iteration(), tag);
                    assertEquals(0.02 * 0.9 * 0.9, s.learningRate(), 1e-12, tag);
                    s.train();
                    assertArrayEquals(bits(straight), bits(values(m)), tag + ": final parameters");
                    assertEquals(loss, s.lossHistory(), tag);
                    assertEquals(valAcc, s.valAccHistory(), tag);
                    assertEquals(bestAcc, s.bestValAcc(), tag);
                }
            }
        }
    }

    /**
     * The recipe (crop and flip augmentation on the loader's thread, AdamW, one-cycle per
     * step) stopped at epoch 2 and resumed by a new solver and model ends bit-identical to a
     * run that never stopped; a resume with another seed or augmentation is refused.
     */
    @Test
    void augmentedRecipeResumesBitIdentically() throws IOException {
        Dataset images = new Dataset(train.x().reshape(train.size(), 1, 2, 5), train.y());
        Dataset valImages = new Dataset(val.x().reshape(val.size(), 1, 2, 5), val.y());
        Function<TinyNet, Solver> make = m -> quiet(new Solver(m, images, valImages)).updateRule("adamw")
                .optimConfig(Map.of("learning_rate", 0.02, "weight_decay", 0.05))
                .schedule(dev.panamann.optim.LrSchedule.oneCycle()).augment(new dev.panamann.data.Augmentation(1, true))
                .batchSize(40).numEpochs(4).numTrainSamples(100).seed(11);
        int[] straight;
        List<Float> loss;
        try (TinyNet m = net(Backs.java(), 1); Solver s = make.apply(m)) {
            s.train();
            straight = bits(values(m));
            loss = List.copyOf(s.lossHistory());
        }
        String ckName = dir.resolve("augmented/run").toString();
        try (TinyNet m = net(Backs.java(), 1); Solver s = make.apply(m).checkpointName(ckName)) {
            s.addListener(new TrainingListener() {
                @Override
                public void onCheck(Solver solver, Check c) { if (c.epoch() == 2) throw new Stop(); }
            });
            assertThrows(Stop.class, s::train);
        }
        Path ck = Path.of(ckName + "_epoch_2.safetensors");
        try (TinyNet m = net(Backs.java(), 99); Solver s = make.apply(m)) {
            s.resume(ck);
            s.train();
            assertEquals(loss, s.lossHistory(), "losses after the resume");
            assertArrayEquals(straight, bits(values(m)), "final parameters");
        }
        assertResumeFails(m -> make.apply(m).seed(12), ck, "augmentation", "seed 11");
        assertResumeFails(m -> quiet(new Solver(m, images, valImages)).updateRule("adamw")
                .optimConfig(Map.of("learning_rate", 0.02, "weight_decay", 0.05))
                .schedule(dev.panamann.optim.LrSchedule.oneCycle()).augment(new dev.panamann.data.Augmentation(0, true))
                .batchSize(40).numEpochs(4).numTrainSamples(100).seed(11), ck, "augmentation");
        assertResumeFails(m -> make.apply(m).augment(dev.panamann.data.Augmentation.none()), ck, "augmentation",
                "this run has no augmentation");
        // with the same seed, the plain sampler and the augmenting loader draw different batches
        try (TinyNet m = net(Backs.java(), 1); Solver s = make.apply(m).augment(dev.panamann.data.Augmentation.none())) {
            s.train();
            assertNotEquals(loss, s.lossHistory());
        }
    }

    static FullyConnectedNet dropoutNet(Ops ops, long seed, float dropout) {
        return new FullyConnectedNet(ops, new int[] {12, 12}, D, C,
                FullyConnectedNet.Options.DEFAULT.withDropout(dropout).withBatchNorm(true).withWeightScale(5e-2f).withSeed(seed));
    }

    Solver configured(Model model, int epochs, String ckpt) {
        return quiet(new Solver(model, train, val)).updateRule("adam").optimConfig(Map.of("learning_rate", 0.01))
                .batchSize(40).numEpochs(epochs).numTrainSamples(100).seed(7).checkpointName(ckpt);
    }

    static int[] paramBits(Model m) {
        return bits(m.params().stream().map(p -> p.value().toArray()).toArray(float[][]::new));
    }

    /**
     * With dropout the masks come from the model's own generator: its state is in the
     * checkpoint, so the resumed run draws the masks the uninterrupted one drew.
     */
    @Test
    void dropoutNetResumesBitIdentically() throws IOException {
        Ops ops = Backs.java();
        int[] straight;
        List<Float> loss;
        try (FullyConnectedNet m = dropoutNet(ops, 1, 0.3f); Solver s = configured(m, 4, null)) {
            assertEquals(1, m.generators().size(), "both dropout layers share the net's generator");
            s.train();
            straight = paramBits(m);
            loss = List.copyOf(s.lossHistory());
        }
        String ckName = dir.resolve("dropout/run").toString();
        try (FullyConnectedNet m = dropoutNet(ops, 1, 0.3f); Solver s = configured(m, 4, ckName)) {
            s.addListener(new TrainingListener() {
                @Override
                public void onCheck(Solver solver, Check c) { if (c.epoch() == 2) throw new Stop(); }
            });
            assertThrows(Stop.class, s::train);
        }
        Path ck = Path.of(ckName + "_epoch_2.safetensors");
        try (FullyConnectedNet m = dropoutNet(ops, 99, 0.3f); Solver s = configured(m, 4, null)) {
            s.resume(ck);
            s.train();
            assertEquals(loss, s.lossHistory(), "losses after the resume");
            assertArrayEquals(straight, paramBits(m), "final parameters");
        }
        // a model without dropout cannot take the checkpoint of one with dropout
        try (FullyConnectedNet m = dropoutNet(ops, 1, 0f); Solver s = configured(m, 4, null)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.resume(ck));
            assertTrue(e.getMessage().contains("1 model random generator(s)") && e.getMessage().contains("this model has 0"),
                    e.getMessage());
            assertEquals(0, s.epoch(), "nothing changed");
        }
    }

    /** A finished 2-epoch run can be extended: resume its last checkpoint with numEpochs 4. */
    @Test
    void finishedRunExtendsBitIdentically() throws IOException {
        for (String rule : List.of("nesterov", "rmsprop", "sgd")) {
            float[][] straight;
            try (TinyNet m = net(Backs.java(), 3); Solver s = configured(m, rule, 4, null)) {
                s.train();
                straight = values(m);
            }
            String ckName = dir.resolve(rule + "/run").toString();
            try (TinyNet m = net(Backs.java(), 3); Solver s = configured(m, rule, 2, ckName)) {
                s.train();
                assertEquals(Path.of(ckName + "_epoch_2.safetensors"), s.lastCheckpoint());
            }
            try (TinyNet m = net(Backs.java(), 5); Solver s = configured(m, rule, 4, null)) {
                s.resume(Path.of(ckName + "_epoch_2.safetensors"));
                s.train();
                assertArrayEquals(bits(straight), bits(values(m)), rule);
            }
        }
    }

    @Test
    void checkpointHoldsBestParametersLoadableByModelIO() throws IOException {
        String ckName = dir.resolve("best/run").toString();
        float[][] best;
        try (TinyNet m = net(Backs.java(), 1); Solver s = configured(m, "adam", 2, ckName)) {
            s.train();
            best = values(m); // train() ends with the best parameters
        }
        try (TinyNet m = net(Backs.java(), 8)) {
            ModelIO.load(m, Path.of(ckName + "_epoch_2.safetensors"), "best/");
            assertArrayEquals(bits(best), bits(values(m)));
        }
    }

    @Test
    void resumeRejectsMismatchesAndChangesNothing() throws IOException {
        String ckName = dir.resolve("mm/run").toString();
        try (TinyNet m = net(Backs.java(), 1); Solver s = configured(m, "adam", 1, ckName)) {
            s.train();
        }
        Path ck = Path.of(ckName + "_epoch_1.safetensors");
        Function<TinyNet, Solver> base = m -> configured(m, "adam", 3, null);
        assertResumeFails(m -> configured(m, "rmsprop", 3, null), ck, "update_rule adam", "update_rule rmsprop");
        assertResumeFails(m -> base.apply(m).batchSize(20), ck, "batch_size 40", "batch_size 20");
        assertResumeFails(m -> base.apply(m).lrDecay(0.8), ck, "schedule exponential(gamma=0.9)", "exponential(gamma=0.8)");
        assertResumeFails(m -> quiet(new Solver(m, train.head(200), val)).updateRule("adam").optimConfig(Map.of("learning_rate", 0.02))
                .lrDecay(0.9).batchSize(40).seed(7), ck, "num_train 300", "num_train 200");
        try (TinyNet other = new TinyNet(Backs.java(), D, 8, C, 0f, 0.1f, new Rng(1));
             Solver s = configured(other, "adam", 3, null)) {
            float[] w = other.params().get(0).value().toArray();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.resume(ck));
            assertTrue(e.getMessage().contains("param 'W1': expected shape [10, 8] but found [10, 16]"), e.getMessage());
            assertArrayEquals(w, other.params().get(0).value().toArray());
            assertEquals(0, s.iteration());
        }
        Path plain = dir.resolve("plain.safetensors");
        try (TinyNet m = net(Backs.java(), 1)) {
            ModelIO.save(m, plain);
        }
        assertResumeFails(base, plain, "not a solver checkpoint");
    }

    void assertResumeFails(Function<TinyNet, Solver> make, Path ck, String... parts) {
        try (TinyNet m = net(Backs.java(), 9); Solver s = make.apply(m)) {
            float[] w = m.params().get(0).value().toArray();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.resume(ck));
            for (String p : parts) assertTrue(e.getMessage().contains(p), e.getMessage() + " lacks " + p);
            assertArrayEquals(w, m.params().get(0).value().toArray(), "model untouched");
            assertEquals(0, s.iteration());
            assertEquals(0, s.lossHistory().size());
        }
    }

    // ------------------------------------------------------------------ bad configuration

    @Test
    void badConfigurationsAreRejectedWithClearMessages() {
        try (ProbeModel m = new ProbeModel(C)) {
            msg(() -> new Solver(m, train, null), "validation set is missing");
            msg(() -> new Solver(m, null, val), "training set is missing");
            Solver s = new Solver(m, train, val);
            msg(() -> s.updateRule("adagrad"), "unknown update rule 'adagrad'", "adam");
            msg(() -> s.optimConfig(Map.of("learning_rate", -0.1)), "learning rate", "-0.1");
            msg(() -> s.batchSize(0), "batch size must be >= 1, got 0");
            msg(() -> s.numEpochs(0), "numEpochs must be >= 1, got 0");
            msg(() -> s.printEvery(0), "printEvery");
            msg(() -> s.lrDecay(-1), "lrDecay");
            msg(() -> s.numTrainSamples(-5), "numTrainSamples");
            msg(() -> s.updateRule("sgd").optimConfig(Map.of("beta1", 0.9)).verbose(false).train(), "unknown optim config key 'beta1'");
            msg(() -> new Solver(m, train, val).updateRule("adam").optimConfig(Map.of("beta2", 1.0)).verbose(false).train(), "beta2");
            try (Tensor x = Tensor.zeros(3, 5)) {
                msg(() -> new Solver(m, train, new Dataset(x, new int[3])), "[10]", "[5]");
            }
            try (Tensor x = Tensor.zeros(2, D)) {
                msg(() -> new Solver(m, train, new Dataset(x, new int[] {0, C})), "label 1 is 4", "4 classes");
            }
        }
    }

    @Test
    void structuralOptionsAreLockedOnceTrainingStarted() throws IOException {
        try (ProbeModel m = new ProbeModel(C); Solver s = quiet(new Solver(m, train, val)).numEpochs(1)) {
            s.train();
            assertThrows(IllegalStateException.class, () -> s.updateRule("adam"));
            assertThrows(IllegalStateException.class, () -> s.batchSize(10));
            s.numEpochs(2); // more epochs are fine
            s.train();
            assertEquals(2, s.epoch());
        }
    }

    static void msg(ThrowingRunnable r, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' lacks " + p);
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void differentSeedsSampleDifferentBatches() throws IOException {
        List<Float> a, b;
        try (TinyNet m = net(Backs.java(), 1); Solver s = quiet(new Solver(m, train, val)).numEpochs(1).batchSize(30).seed(1)) {
            s.train();
            a = List.copyOf(s.lossHistory());
        }
        try (TinyNet m = net(Backs.java(), 1); Solver s = quiet(new Solver(m, train, val)).numEpochs(1).batchSize(30).seed(2)) {
            s.train();
            b = List.copyOf(s.lossHistory());
        }
        assertNotEquals(a, b);
    }

    @Test
    void paramsAreNotReallocated() throws IOException {
        try (TinyNet m = net(Backs.java(), 1); Solver s = quiet(new Solver(m, train, val)).numEpochs(1)) {
            List<Tensor> before = m.params().stream().map(Param::value).toList();
            s.train();
            for (int i = 0; i < before.size(); i++) assertTrue(before.get(i) == m.params().get(i).value());
        }
    }

    /**
     * Without listeners the solver runs {@link Model#trainStep}, which a data-parallel model fuses
     * with plain SGD (the affine weights' dW are never written); with a listener it runs loss,
     * afterBackward, step: the same losses up to float rounding.
     */
    @Test
    void trainsWithTheFusedStepWhenNothingReadsTheGradients() throws IOException {
        Ops ops = Backs.java();
        List<Float> fused, plain;
        Function<Ops, Model> f = o -> new dev.panamann.models.TwoLayerNet(o, D, 16, C, 1e-1f, 1e-2f, 3);
        try (dev.panamann.models.DataParallel m = dev.panamann.models.DataParallel.of(ops, f, 2);
             Solver s = quiet(new Solver(m, train, val)).updateRule("sgd").optimConfig(Map.of("learning_rate", 0.2, "weight_decay", 0.01))
                     .batchSize(30).numEpochs(2)) {
            s.train();
            fused = s.lossHistory();
            assertEquals(0.0, maxAbs(m.params().get(0).grad()), "W1's gradient was written: the step was not fused");
        }
        try (dev.panamann.models.DataParallel m = dev.panamann.models.DataParallel.of(ops, f, 2);
             Solver s = quiet(new Solver(m, train, val)).updateRule("sgd").optimConfig(Map.of("learning_rate", 0.2, "weight_decay", 0.01))
                     .batchSize(30).numEpochs(2)) {
            int[] calls = {0};
            s.addListener(new TrainingListener() {
                @Override
                public void afterBackward(Solver solver, int iteration, float loss) { calls[0]++; }
            });
            s.train();
            plain = s.lossHistory();
            assertEquals(20, calls[0]);
            assertTrue(maxAbs(m.params().get(0).grad()) > 0, "W1's gradient is computed when a listener may read it");
        }
        assertEquals(plain.size(), fused.size());
        for (int i = 0; i < plain.size(); i++) assertEquals(plain.get(i), fused.get(i), 1e-4f * Math.abs(plain.get(i)), "loss " + i);
        assertTrue(fused.get(fused.size() - 1) < 0.8f * fused.get(0), "it trained: " + fused);
    }

    private static double maxAbs(Tensor t) {
        double m = 0;
        for (float v : t.toArray()) m = Math.max(m, Math.abs(v));
        return m;
    }
}
