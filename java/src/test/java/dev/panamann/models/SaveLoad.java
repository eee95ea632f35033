package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.panamann.io.ModelIO;
import dev.panamann.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;

/** The save / load round trip the batch-norm conv models' tests share. */
final class SaveLoad {
    private SaveLoad() {}

    /**
     * A training pass of {@code a} on {@code x} (moving its running statistics), {@code a} saved
     * under panamann.workDir ({@code target/test-work}) in folder {@code name} and loaded into
     * {@code b}: every state-dict entry and the eval scores on {@code x} must then be equal.
     */
    static void assertRoundTrip(Model a, Model b, Tensor x, int[] labels, String name) throws Exception {
        Path dir = Path.of(System.getProperty("panamann.workDir", "target/test-work"), name);
        Files.createDirectories(dir);
        Path file = dir.resolve("model.safetensors");
        a.loss(x, labels);
        ModelIO.save(a, file);
        ModelIO.load(b, file);
        for (var e : a.stateDict().entrySet()) assertArrayEquals(e.getValue().toArray(), b.stateDict().get(e.getKey()).toArray(), e.getKey());
        assertArrayEquals(a.scores(x).toArray(), b.scores(x).toArray(), "eval scores after load");
    }
}
