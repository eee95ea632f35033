package dev.panamann.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.Backends;
import dev.panamann.ops.Ops;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The panama-nn side of the side-by-side benchmark runs every case on a tiny CIFAR-10-format file. */
class SideBySideTest {

    /** A data_batch_1.bin of {@code n} random records (label byte + 3072 pixel bytes). */
    static Path tinyCifar(Path dir, int n) throws Exception {
        byte[] b = new byte[n * 3073];
        Random r = new Random(3);
        r.nextBytes(b);
        for (int i = 0; i < n; i++) b[i * 3073] = (byte) r.nextInt(10);
        Files.write(dir.resolve("data_batch_1.bin"), b);
        return dir;
    }

    @Test
    void everyCaseRunsAndPrintsAResultLine(@TempDir Path dir) throws Exception {
        tinyCifar(dir, 300);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        List<SideBySide.Result> results;
        try (Ops ops = Backends.create("auto"); PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            results = SideBySide.run(ops, dir, SideBySide.CASES, 256, 0, 1, out);
        }
        assertEquals(SideBySide.CASES.size(), results.size());
        String[] lines = buf.toString(StandardCharsets.UTF_8).strip().split("\n");
        assertEquals(SideBySide.CASES.size(), lines.length);
        for (int i = 0; i < results.size(); i++) {
            SideBySide.Result r = results.get(i);
            assertEquals(SideBySide.CASES.get(i), r.name());
            assertTrue(r.imagesPerSecond() > 0 && Double.isFinite(r.imagesPerSecond()), r.toString());
            assertTrue(Double.isFinite(r.loss()), r.toString());
            // the driver parses "RESULT <case> <images/s> ..."
            String[] f = lines[i].split(" ");
            assertEquals("RESULT", f[0]);
            assertEquals(r.name(), f[1]);
            assertEquals(r.imagesPerSecond(), Double.parseDouble(f[2]), 0.1);
        }
        // a training case's loss starts near ln(10) on random labels
        assertEquals(Math.log(10), results.get(0).loss(), 0.5);
    }

    @Test
    void badArgumentsAreNamed(@TempDir Path dir) throws Exception {
        tinyCifar(dir, 300);
        try (Ops ops = Backends.create("auto")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SideBySide.run(ops, dir, List.of("convnet-fast-64"), 256, 1, 1, System.out));
            assertTrue(e.getMessage().contains("convnet-fast-64"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> SideBySide.run(ops, dir, List.of("convnet-adam-256"), 100, 1, 1, System.out));
            assertTrue(e.getMessage().contains("at least 256"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> SideBySide.main(new String[] {"--images", "10"}));
    }
}
