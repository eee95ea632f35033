package dev.panamann.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.panamann.data.PreparedData;
import dev.panamann.models.Model;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.BlobData;
import dev.panamann.testutil.TinyNet;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TrainingTest extends BlobData {
    private PreparedData data() {
        return new PreparedData("blobs", train, val, val, List.of("a", "b", "c", "d"), PreparedData.AS_IS, null, () -> { });
    }

    @Test
    void trainsToTheBestValidationParametersAndReportsTheRun() throws Exception {
        TrainSettings s = new TrainSettings("adam", 1e-2, 0.9, 50, 3);
        int[] before = {0};
        try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 1e-3f, 0.1f, new Rng(1))) {
            TrainResult r = Training.train(net, data(), s, Training.RunOptions.quiet(7), () -> before[0]++);
            assertEquals(1, before[0], "the hook runs once, before training");
            assertEquals(3 * (300 / 50), r.iterations());
            assertEquals(r.iterations(), r.lossHistory().size());
            assertEquals(r.trainAccHistory().size(), r.valAccHistory().size());
            float best = Float.NEGATIVE_INFINITY;
            for (float v : r.valAccHistory()) best = Math.max(best, v);
            assertEquals(best, r.bestValAcc());
            assertEquals(best, Evaluation.accuracy(net, val, 50), 1e-6, "the model holds the best validation parameters");
            assertTrue(r.bestValAcc() > 0.5, "blobs are separable: " + r.bestValAcc());
            assertTrue(r.imagesPerSecond() > 0 && r.seconds() > 0);

            Path f = r.writeHistory(dir);
            assertEquals(TrainResult.HISTORY, f.getFileName().toString());
            JsonObject json = JsonParser.parseString(Files.readString(f)).getAsJsonObject();
            assertEquals(r.iterations(), json.getAsJsonArray("loss").size());
            assertEquals(r.valAccHistory().getLast(), json.getAsJsonArray("val_acc").get(r.valAccHistory().size() - 1).getAsFloat());
        }
    }

    @Test
    void theSameSeedGivesTheSameRun() throws Exception {
        TrainSettings s = new TrainSettings("sgd_momentum", 1e-2, 1.0, 30, 1);
        List<Float> first = null;
        for (int k = 0; k < 2; k++) {
            try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 0f, 0.1f, new Rng(3))) {
                List<Float> loss = Training.train(net, data(), s, Training.RunOptions.quiet(11)).lossHistory();
                if (first == null) first = loss;
                else assertEquals(first, loss);
            }
        }
    }

    @Test
    void aMissingCheckpointAndAFailedTrialAreReported() throws Exception {
        TrainSettings s = new TrainSettings("sgd", 1e-2, 1.0, 50, 1);
        try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 0f, 0.1f, new Rng(3))) {
            var o = new Training.RunOptions(1, 100, null, dir.resolve("none.safetensors"), false);
            var e = assertThrows(NoSuchFileException.class, () -> Training.train(net, data(), s, o));
            assertTrue(e.getMessage().contains("none.safetensors"), e.getMessage());
        }
        boolean[] closed = {false};
        try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 0f, 0.1f, new Rng(3))) {
            Model watched = new Model() {
                @Override public Tensor scores(Tensor x) { return net.scores(x); }
                @Override public float loss(Tensor x, int[] y) { throw new IllegalStateException("boom"); }
                @Override public List<Param> params() { return net.params(); }
                @Override public int numClasses() { return net.numClasses(); }
                @Override public void close() { closed[0] = true; }
            };
            var e = assertThrows(IllegalStateException.class, () -> Training.trial(() -> watched, data(), s, 1));
            assertEquals("boom", e.getMessage());
            assertTrue(closed[0], "the failed trial closed its model");
        }
    }

    @Test
    void settingsAreCheckedAndDescribed() {
        TrainSettings s = new TrainSettings(" ADAM ", 1e-3, 0.95, 200, 10);
        assertEquals("adam", s.updateRule());
        assertEquals("adam, lr 0.001, lr x 0.95 per epoch, batch 200, 10 epochs", s.describe());
        assertEquals("adam, lr 0.001, no lr decay, batch 200, 10 epochs, random horizontal flips",
                s.withLrDecay(1).withFlip(true).describe());
        for (Map.Entry<String, Runnable> bad : Map.<String, Runnable>of(
                "update rule", () -> new TrainSettings("lbfgs", 1e-3, 1, 1, 1),
                "learning rate", () -> new TrainSettings("sgd", 0, 1, 1, 1),
                "lr decay", () -> new TrainSettings("sgd", 1e-3, Double.NaN, 1, 1),
                "batch size", () -> new TrainSettings("sgd", 1e-3, 1, 0, 1),
                "epochs", () -> new TrainSettings("sgd", 1e-3, 1, 1, TrainSettings.MAX_EPOCHS + 1)).entrySet()) {
            var e = assertThrows(IllegalArgumentException.class, bad.getValue()::run);
            assertTrue(e.getMessage().contains(bad.getKey()), e.getMessage());
        }
    }

    @Test
    void aGradientCheckReportNamesEveryParameter() {
        try (TinyNet net = new TinyNet(Backs.java(), D, 5, C, 0f, 0.1f, new Rng(3))) {
            var x = Tensor.randn(new Rng(4), 1f, 4, D);
            try (x) {
                var results = GradientCheck.checkModel(net, x, new int[] {0, 1, 2, 3}, GradientCheck.STEP);
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
                assertTrue(GradientCheckReport.print(net, results, 0, 1.0, out));
                String pass = bytes.toString(StandardCharsets.UTF_8);
                for (String name : results.keySet()) assertTrue(pass.contains(name), pass);
                assertEquals("PASS", pass.strip().lines().reduce((a, b) -> b).orElseThrow());
                assertEquals(results.size() + 3, pass.strip().lines().count(), "header, a row each, legend, verdict:\n" + pass);
                bytes.reset();
                assertFalse(GradientCheckReport.print(net, results, 7, 0.0, out));
                String fail = bytes.toString(StandardCharsets.UTF_8);
                assertEquals("FAIL", fail.strip().lines().reduce((a, b) -> b).orElseThrow());
                for (String name : results.keySet()) assertTrue(fail.contains("  " + name + ": worst element"), fail);
                assertTrue(fail.lines().anyMatch(l -> l.startsWith("W1 ") && l.contains(" 7 ")), "7 of W1's elements checked:\n" + fail);
            }
        }
    }
}
