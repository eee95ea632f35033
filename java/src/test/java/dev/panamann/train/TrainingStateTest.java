package dev.panamann.train;

import dev.panamann.testutil.TinyNet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.data.Batcher;
import dev.panamann.data.Dataset;
import dev.panamann.io.SafeTensors;
import dev.panamann.optim.Adam;
import dev.panamann.optim.Sgd;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.testutil.Backs;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training state on its own: advancing it by hand, and the checkpoint codec. */
class TrainingStateTest {
    static final int D = 6, C = 3;
    static final Map<String, String> SETTINGS = Map.of("batch_size", "20");

    @TempDir
    Path dir;

    Dataset data;

    @BeforeEach
    void data() {
        Rng rng = new Rng(5);
        data = TinyNet.blobs(rng, 60, TinyNet.centres(rng, D, C, 1.5f));
    }

    @AfterEach
    void free() { data.close(); }

    static TinyNet net(long seed) { return new TinyNet(Backs.java(), D, 5, C, 1e-3f, 0.1f, new Rng(seed)); }

    /** n steps of a hand-written loop, a check after each. */
    static void steps(TrainingState s, Batcher b, int n) {
        for (int i = 0; i < n; i++) {
            b.sample();
            float loss = s.model().loss(b.x(), b.y());
            s.optimizer().step(s.params());
            s.recordStep(loss);
            s.recordCheck(0.5f, 0.1f * (i % 3));
        }
    }

    @Test
    void savedStateLoadsIntoAFreshOneAndContinuesBitIdentically() throws IOException {
        Path ck = dir.resolve("state.safetensors");
        float[][] straight;
        List<Float> straightLoss;
        try (TinyNet m = net(1); TrainingState s = new TrainingState(m, new Adam(0.01), new Rng(7), SETTINGS);
             Batcher b = new Batcher(data, 20, s.rng())) {
            assertEquals(0.01, s.initialLearningRate());
            steps(s, b, 4);
            s.recordEpoch();
            s.optimizer().setLearningRate(0.005);
            s.save(ck);
            assertEquals(ck, s.lastCheckpoint());
            steps(s, b, 3);
            straight = values(m);
            straightLoss = List.copyOf(s.lossHistory());
        }
        try (TinyNet m = net(99); TrainingState s = new TrainingState(m, new Adam(0.3), new Rng(1), SETTINGS);
             Batcher b = new Batcher(data, 20, s.rng())) {
            s.load(ck);
            assertEquals(4, s.iteration());
            assertEquals(1, s.epoch());
            assertEquals(0.01, s.initialLearningRate(), "the checkpoint's rates win");
            assertEquals(0.005, s.optimizer().learningRate());
            assertEquals(4, s.lossHistory().size());
            assertEquals(List.of(0.5f, 0.5f, 0.5f, 0.5f), s.trainAccHistory());
            assertEquals(0.2f, s.bestValAcc());
            assertTrue(s.hasBest());
            for (Param p : s.params()) assertEquals(4, s.optimizer().steps(p), p.name());
            steps(s, b, 3);
            assertArrayEquals(bits(straight), bits(values(m)), "model state, optimizer state and generator restored");
            assertEquals(straightLoss, s.lossHistory());
        }
    }

    @Test
    void bestStateIsKeptAndRestored() {
        try (TinyNet m = net(1); TrainingState s = new TrainingState(m, new Sgd(0.1), new Rng(7), SETTINGS);
             Batcher b = new Batcher(data, 20, s.rng())) {
            assertFalse(s.hasBest());
            s.restoreBest(); // nothing yet: no change, no error
            assertTrue(s.recordCheck(0.2f, 0.4f));
            float[][] best = values(m);
            steps(s, b, 2); // val 0.0 and 0.1: no new best
            assertFalse(s.recordCheck(0.9f, 0.4f), "equal is not better");
            s.restoreBest();
            assertArrayEquals(bits(best), bits(values(m)));
            assertEquals(0.4f, s.bestValAcc());
        }
    }

    @Test
    void loadRejectsOtherVersionsSettingsAndHistoriesWithoutChangingAnything() throws IOException {
        Path ck = dir.resolve("state.safetensors");
        try (TinyNet m = net(1); TrainingState s = new TrainingState(m, new Sgd(0.1), new Rng(7), SETTINGS);
             Batcher b = new Batcher(data, 20, s.rng())) {
            steps(s, b, 2);
            s.save(ck);
        }
        try (TinyNet m = net(2);
             TrainingState s = new TrainingState(m, new Sgd(0.1), new Rng(7), Map.of("batch_size", "32"))) {
            float[][] before = values(m);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.load(ck));
            assertTrue(e.getMessage().contains("written with batch_size 20 but this run has batch_size 32"), e.getMessage());
            assertArrayEquals(bits(before), bits(values(m)));
            assertEquals(0, s.iteration());
            assertNull(s.lastCheckpoint());
        }
        Path v3 = rewrite(ck, "v3.safetensors", "version", "3");
        Path torn = rewrite(ck, "torn.safetensors", "loss_history", "[1.0]");
        Path noSetting = rewrite(ck, "nosetting.safetensors", "run/batch_size", null);
        try (TinyNet m = net(2); TrainingState s = new TrainingState(m, new Sgd(0.1), new Rng(7), SETTINGS)) {
            msg(() -> s.load(v3), "version 3 checkpoint", "reads versions 1 and 2");
            msg(() -> s.load(torn), "1 losses for 2 iterations");
            msg(() -> s.load(noSetting), "lacks 'run/batch_size'");
            assertEquals(0, s.iteration());
            assertEquals(0, s.optimizer().steps(s.params().get(0)));
        }
    }

    @Test
    void closedStateFailsLoudly() throws IOException {
        TinyNet m = net(1);
        TrainingState s = new TrainingState(m, new Sgd(0.1), new Rng(7), SETTINGS);
        s.close();
        s.close(); // twice is fine
        assertThrows(IllegalStateException.class, () -> s.recordStep(1f));
        assertThrows(IllegalStateException.class, () -> s.save(dir.resolve("x.safetensors")));
        assertThrows(IllegalStateException.class, () -> s.optimizer().step(s.params()), "the state closed its optimizer");
        m.close();
    }

    /** A copy of a checkpoint with one metadata entry changed (null: removed). */
    Path rewrite(Path ck, String name, String key, String value) throws IOException {
        Path out = dir.resolve(name);
        try (SafeTensors.Contents c = SafeTensors.load(ck)) {
            Map<String, String> meta = new LinkedHashMap<>(c.metadata());
            if (value == null) meta.remove(key);
            else meta.put(key, value);
            SafeTensors.save(out, c.tensors(), meta);
        }
        return out;
    }

    static void msg(SolverTest.ThrowingRunnable r, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' lacks " + p);
    }

    static float[][] values(TinyNet m) { return SolverTest.values(m); }

    static int[] bits(float[][] v) { return SolverTest.bits(v); }
}
