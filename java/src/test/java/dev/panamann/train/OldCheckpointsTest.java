package dev.panamann.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.io.ModelIO;
import dev.panamann.io.SafeTensors;
import dev.panamann.models.FullyConnectedNet;
import dev.panamann.models.Model;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import dev.panamann.testutil.BlobData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Files written before the module-tree names ({@code W1}, {@code gamma1}, {@code running_mean1},
 * ...) and version 1 checkpoints (before the run's settings and initial learning rate were
 * stored): made here from current files by the old mapping, then loaded and resumed.
 */
class OldCheckpointsTest extends BlobData {
    static final FullyConnectedNet.Options OPTIONS = FullyConnectedNet.Options.DEFAULT.withBatchNorm(true).withSeed(3);

    private FullyConnectedNet net() {
        return new FullyConnectedNet(Backs.java(), new int[] {12, 8}, D, C, OPTIONS);
    }

    private Solver solver(Model m, String checkpoints, double lr) {
        return new Solver(m, train, val).updateRule("sgd_momentum").optimConfig(Map.of("learning_rate", lr)).lrDecay(0.9)
                .batchSize(30).numEpochs(3).seed(5).verbose(false).checkpointName(checkpoints);
    }

    /** A checkpoint or model key with the state-dict name in it written with the model's old name. */
    private static String old(String key, Map<String, String> legacy) {
        for (String prefix : new String[] {"param/", "best/"}) {
            if (key.startsWith(prefix)) return prefix + legacy.get(key.substring(prefix.length()));
        }
        if (key.startsWith("optim/") && key.lastIndexOf('/') > 5) {
            int cut = key.lastIndexOf('/');
            return "optim/" + legacy.get(key.substring(6, cut)) + key.substring(cut);
        }
        return legacy.getOrDefault(key, key);
    }

    /** {@code file} rewritten with the old names, and as a version 1 checkpoint when {@code v1}. */
    private static Path rewrite(Path file, Path to, Map<String, String> legacy, boolean v1) throws IOException {
        try (SafeTensors.Contents c = SafeTensors.load(file)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            for (var e : c.tensors().entrySet()) tensors.put(old(e.getKey(), legacy), e.getValue());
            Map<String, String> meta = new LinkedHashMap<>();
            for (var e : c.metadata().entrySet()) meta.put(old(e.getKey(), legacy), e.getValue());
            if (v1) {
                meta.put("version", "1");
                meta.remove("initial_learning_rate");
                meta.keySet().removeIf(k -> k.startsWith("run/"));
                meta.put("update_rule", "sgd_momentum");
                meta.put("num_epochs", "3");
                meta.put("batch_size", "30");
                meta.put("num_train", Integer.toString(300));
                meta.put("lr_decay", Double.toString(0.9));
            }
            SafeTensors.save(to, tensors, meta);
        }
        return to;
    }

    private static List<float[]> values(Model m) {
        List<float[]> v = new ArrayList<>();
        for (Tensor t : m.stateDict().values()) v.add(t.toArray());
        return v;
    }

    @Test
    void aModelFileWithTheOldNamesLoads() throws IOException {
        try (FullyConnectedNet a = net(); FullyConnectedNet b = new FullyConnectedNet(Backs.java(), new int[] {12, 8}, D, C, OPTIONS.withSeed(4))) {
            a.loss(train.head(30).x(), java.util.Arrays.copyOf(train.y(), 30)); // moves the running statistics
            Path current = dir.resolve("model.safetensors");
            ModelIO.save(a, current);
            assertEquals(List.copyOf(a.stateDict().keySet()), List.copyOf(SafeTensors.readHeader(current).entries().keySet()));
            Path old = rewrite(current, dir.resolve("old.safetensors"), a.legacyNames(), false);
            assertTrue(SafeTensors.readHeader(old).entries().containsKey("running_mean2"));
            ModelIO.load(b, old);
            List<float[]> va = values(a), vb = values(b);
            for (int i = 0; i < va.size(); i++) assertArrayEquals(va.get(i), vb.get(i), "entry " + i);
        }
    }

    @Test
    void checkpointsWithTheOldNamesAndOfVersion1ResumeAsTheRunWouldHaveContinued() throws IOException {
        List<Float> straightLoss;
        List<float[]> straight;
        String ck = dir.resolve("run").toString();
        Map<String, String> legacy;
        Path epoch1;
        try (FullyConnectedNet m = net(); Solver s = solver(m, ck, 0.05)) {
            s.train();
            straightLoss = s.lossHistory();
            straight = values(m);
            legacy = m.legacyNames();
            epoch1 = s.checkpointPath(1);
        }
        Path oldNames = rewrite(epoch1, dir.resolve("old_names.safetensors"), legacy, false);
        Path v1 = rewrite(epoch1, dir.resolve("v1.safetensors"), legacy, true);
        for (Path file : List.of(oldNames, v1)) {
            try (FullyConnectedNet m = net(); Solver s = solver(m, dir.resolve("again").toString(), 0.05)) {
                s.resume(file);
                assertEquals(1, s.epoch(), file.toString());
                s.train();
                assertEquals(straightLoss, s.lossHistory(), file + ": the resumed run continues bit-identically");
                List<float[]> now = values(m);
                for (int i = 0; i < now.size(); i++) assertArrayEquals(straight.get(i), now.get(i), file + " entry " + i);
            }
        }
        // a version 1 checkpoint did not store the initial learning rate: this run's must lead to its stored rate
        try (FullyConnectedNet m = net(); Solver s = solver(m, null, 0.02)) {
            var e = assertThrows(IllegalArgumentException.class, () -> s.resume(v1));
            assertTrue(e.getMessage().contains("version 1") && e.getMessage().contains("initial learning rate 0.02"), e.getMessage());
        }
        try (FullyConnectedNet m = net(); Solver s = solver(m, null, 0.05).batchSize(20)) {
            var e = assertThrows(IllegalArgumentException.class, () -> s.resume(v1));
            assertTrue(e.getMessage().contains("batch_size 30 but this run has batch_size 20"), e.getMessage());
        }
    }
}
