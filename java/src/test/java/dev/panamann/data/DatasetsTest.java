package dev.panamann.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream logged = new ByteArrayOutputStream();
    private final PrintStream log = new PrintStream(logged, true, StandardCharsets.UTF_8);

    @Test
    void cifarIsSplitInOrderAndMeanSubtracted() throws Exception {
        Path folder = Cifar10Test.writeFolder(dir, Cifar10Test.smallSet()); // 12 training, 5 test records
        try (PreparedData d = Datasets.load("cifar10", folder, 8, 3, 4, log);
             Cifar10.Data raw = Cifar10.load(folder)) {
            assertEquals("8 train / 3 val / 4 test", d.sizes());
            assertEquals(PreparedData.MEAN_IMAGE, d.preprocess());
            assertArrayEquals(new int[] {3, 32, 32}, d.exampleShape());
            assertEquals(Cifar10Test.NAMES, d.classNames());
            // validation example 0 is training record 8, minus the mean of records 0..7
            int px = 5;
            double mean = 0;
            for (int i = 0; i < 8; i++) mean += raw.train().x().getFlat((long) i * Cifar10.IMAGE_BYTES + px);
            mean /= 8;
            assertEquals(raw.train().x().getFlat(8L * Cifar10.IMAGE_BYTES + px) - mean, d.val().x().getFlat(px), 1e-3);
            assertEquals(raw.train().y()[8], d.val().y()[0]);
            assertEquals(mean, d.meanImage().getFlat(px), 1e-3);
        }
        assertTrue(logged.toString(StandardCharsets.UTF_8).contains("8 train / 3 val / 4 test"), logged.toString(StandardCharsets.UTF_8));
    }

    @Test
    void allButTheValidationExamplesTrainByDefault() throws Exception {
        Path folder = Cifar10Test.writeFolder(dir, Cifar10Test.smallSet());
        try (PreparedData d = Datasets.loadCifar(folder, null, 2, null, log)) {
            assertEquals("10 train / 2 val / 5 test", d.sizes());
        }
        try (Dataset test = Datasets.loadTestSet("cifar10", folder, 3, log)) {
            assertEquals(3, test.size());
            assertNotNull(test.x());
        }
    }

    @Test
    void badRequestsFailBeforeOrInsteadOfReading() throws Exception {
        Path folder = Cifar10Test.writeFolder(dir, Cifar10Test.smallSet());
        var e = assertThrows(IllegalArgumentException.class, () -> Datasets.loadCifar(folder, 11, 2, null, log));
        assertTrue(e.getMessage().contains("holds 12 training examples"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Datasets.loadCifar(folder, 0, 2, null, log));
        assertThrows(IllegalArgumentException.class, () -> Datasets.loadCifar(folder, 4, 0, null, log));
        assertThrows(IllegalArgumentException.class, () -> Datasets.loadCifar(folder, Integer.MAX_VALUE, 2, null, log));
        assertThrows(IllegalArgumentException.class, () -> Datasets.load("imagenet", folder, 4, 2, null, log));
        assertThrows(IllegalArgumentException.class, () -> Datasets.loadTestSet("cifar10", folder, 0, log));
        var missing = assertThrows(NoSuchFileException.class, () -> Datasets.loadCifar(dir.resolve("nope"), 4, 2, null, log));
        assertTrue(missing.getMessage().contains("nope") && missing.getMessage().contains(Cifar10.ARCHIVE_NAME), missing.getMessage());
        assertThrows(NoSuchFileException.class, () -> Datasets.loadMnist(dir.resolve("nope"), 4, 2, null, log));
        assertThrows(IllegalArgumentException.class, () -> Datasets.loadMnist(folder.resolve(Cifar10.TEST_FILE), 4, 2, null, log));
        assertEquals(1000, Datasets.defaultNumVal("cifar10"));
        assertEquals(5000, Datasets.defaultNumVal("mnist"));
    }
}
