package dev.panamann.train;

import dev.panamann.testutil.BlobData;

import dev.panamann.testutil.TinyNet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.data.Dataset;
import dev.panamann.io.SafeTensors;
import dev.panamann.models.Model;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Solver under numbers that go bad, damaged checkpoints and interrupted writes. */
class SolverFaultTest extends BlobData {

    Solver solver(Model m, int epochs, String ckpt) {
        return new Solver(m, train, val).verbose(false).updateRule("adam").optimConfig(Map.of("learning_rate", 0.02))
                .lrDecay(0.9).batchSize(40).numEpochs(epochs).numTrainSamples(100).seed(7).checkpointName(ckpt);
    }

    /** A model whose loss turns NaN at one call, otherwise the wrapped net. */
    static Model nanAt(TinyNet net, int call) {
        int[] calls = {0};
        return new Model() {
            @Override public Tensor scores(Tensor x) { return net.scores(x); }
            @Override public float loss(Tensor x, int[] y) {
                float l = net.loss(x, y);
                return calls[0]++ == call ? Float.NaN : l;
            }
            @Override public List<Param> params() { return net.params(); }
            @Override public int numClasses() { return net.numClasses(); }
            @Override public void close() {}
        };
    }

    @Test
    void aNonFiniteLossStopsTrainingBeforeTheBadStepAndKeepsTheLastCheckpoint() throws IOException {
        String ck = dir.resolve("nan/run").toString();
        try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 1e-3f, 0.1f, new Rng(1));
             Solver s = solver(nanAt(net, 10), 4, ck)) {   // 7 iterations an epoch: NaN in epoch 2
            float[][] lastGood = new float[net.params().size()][];
            s.addListener(new TrainingListener() {
                @Override
                public void afterStep(Solver solver, Progress p) {
                    for (int i = 0; i < lastGood.length; i++) lastGood[i] = net.params().get(i).value().toArray();
                }
            });
            TrainingDivergedException e = assertThrows(TrainingDivergedException.class, s::train);
            assertEquals(10, e.iteration());
            assertEquals(1, e.epoch());
            assertEquals(0.02 * 0.9, e.learningRate(), 1e-9);
            assertTrue(e.getMessage().contains("loss NaN at iteration 10 (epoch 2, learning rate 0.018"), e.getMessage());
            for (int i = 0; i < lastGood.length; i++) {
                assertArrayEquals(lastGood[i], net.params().get(i).value().toArray(), "the bad step was not applied");
            }
            assertEquals(10, s.iteration());
            // the epoch-1 checkpoint is the last one and resumes
            assertTrue(Files.exists(Path.of(ck + "_epoch_1.safetensors")));
            assertFalse(Files.exists(Path.of(ck + "_epoch_2.safetensors")));
        }
        try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 1e-3f, 0.1f, new Rng(5)); Solver s = solver(net, 4, null)) {
            s.resume(Path.of(ck + "_epoch_1.safetensors"));
            s.train();
            assertEquals(28, s.iteration());
        }
    }

    @Test
    void nonFiniteInputIsRejectedBeforeTraining() throws IOException {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            train.x().set(bad, 5, 3);
            try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 1e-3f, 0.1f, new Rng(1)); Solver s = solver(net, 1, null)) {
                float[] w = net.params().get(0).value().toArray();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, s::train);
                assertTrue(e.getMessage().contains("training data holds " + bad + " in example 5 (value 3 of 10)"), e.getMessage());
                assertArrayEquals(w, net.params().get(0).value().toArray());
            }
            train.x().set(0f, 5, 3);
        }
    }

    /** Rewrites one metadata value of a checkpoint. */
    static Path edited(Path ck, Path to, String key, String value) throws IOException {
        try (SafeTensors.Contents c = SafeTensors.load(ck)) {
            Map<String, String> meta = new LinkedHashMap<>(c.metadata());
            meta.put(key, value);
            SafeTensors.save(to, c.tensors(), meta);
        }
        return to;
    }

    @Test
    void checkpointMetadataOutOfRangeIsRefused() throws IOException {
        String name = dir.resolve("meta/run").toString();
        try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 1e-3f, 0.1f, new Rng(1)); Solver s = solver(net, 2, name)) {
            s.train();
        }
        Path ck = Path.of(name + "_epoch_2.safetensors");
        String[][] cases = {{"best_val_acc", "NaN", "best_val_acc NaN"}, {"best_val_acc", "1.5", "best_val_acc 1.5"},
                {"epoch", "9", "epoch 9 does not fit iteration 14"}, {"iteration", "99999999", "losses for 99999999"},
                {"val_acc_history", "[0.5,NaN,0.7]", "holds NaN"}, {"epoch", "-1", "epoch"}};
        for (String[] c : cases) {
            Path bad = edited(ck, dir.resolve("bad.safetensors"), c[0], c[1]);
            try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 1e-3f, 0.1f, new Rng(3)); Solver s = solver(net, 4, null)) {
                float[] w = net.params().get(0).value().toArray();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.resume(bad), c[0] + "=" + c[1]);
                assertTrue(e.getMessage().contains(c[2]) && e.getMessage().contains("bad.safetensors"), e.getMessage());
                assertArrayEquals(w, net.params().get(0).value().toArray());
                assertEquals(0, s.iteration());
            }
        }
    }

    @Test
    void resumingWithFewerEpochsThanTheCheckpointIsAnError() throws IOException {
        String name = dir.resolve("few/run").toString();
        try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 1e-3f, 0.1f, new Rng(1)); Solver s = solver(net, 3, name)) {
            s.train();
        }
        try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 1e-3f, 0.1f, new Rng(1)); Solver s = solver(net, 2, null)) {
            s.resume(Path.of(name + "_epoch_3.safetensors"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, s::train);
            assertTrue(e.getMessage().contains("iteration 21 (epoch 3)") && e.getMessage().contains("at least 3 epochs"),
                    e.getMessage());
        }
    }

    @Test
    void staleTemporaryFilesOfAKilledCheckpointWriteAreDeletedOnTheNextStart() throws IOException {
        Path d = Files.createDirectories(dir.resolve("stale"));
        Path stale = Files.write(d.resolve(".run_epoch_3.safetensors.5f3a9c01d2e4b6a7.tmp"), new byte[1000]);
        Path other = Files.write(d.resolve(".notes.txt.5f3a.tmp"), new byte[10]);
        Path keep = Files.write(d.resolve("run_epoch_1.safetensors.tmp"), new byte[10]);
        try (TinyNet net = new TinyNet(Backs.java(), D, 16, C, 1e-3f, 0.1f, new Rng(1));
             Solver s = solver(net, 1, d.resolve("run").toString())) {
            s.train();
        }
        assertFalse(Files.exists(stale), "the stale temporary file is gone");
        assertTrue(Files.exists(other) && Files.exists(keep), "files of other names are left alone");
        try (var files = Files.list(d)) {
            assertEquals(List.of(".notes.txt.5f3a.tmp", "run_epoch_0.safetensors", "run_epoch_1.safetensors", "run_epoch_1.safetensors.tmp"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }
}
