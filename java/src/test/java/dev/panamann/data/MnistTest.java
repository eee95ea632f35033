package dev.panamann.data;

import dev.panamann.testutil.TestFiles;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Summary;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

class MnistTest {
    static final int ROWS = 4, COLS = 3;

    static byte[] pixels(int n, long seed) {
        Rng rng = new Rng(seed);
        byte[] b = new byte[n * ROWS * COLS];
        for (int i = 0; i < b.length; i++) b[i] = (byte) rng.nextInt(256);
        b[0] = (byte) 255;   // make sure the extremes occur
        b[1] = 0;
        return b;
    }

    static byte[] labels(int n, long seed) {
        Rng rng = new Rng(seed);
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte) rng.nextInt(10);
        return b;
    }

    static byte[] idxImages(byte[] pixels, int count) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        DataOutputStream o = new DataOutputStream(bo);
        o.writeInt(Mnist.IMAGES_MAGIC);
        o.writeInt(count);
        o.writeInt(ROWS);
        o.writeInt(COLS);
        o.write(pixels);
        return bo.toByteArray();
    }

    static byte[] idxLabels(byte[] labels, int count) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        DataOutputStream o = new DataOutputStream(bo);
        o.writeInt(Mnist.LABELS_MAGIC);
        o.writeInt(count);
        o.write(labels);
        return bo.toByteArray();
    }

    static Path write(Path file, byte[] data, boolean gzip) throws IOException {
        try (OutputStream fo = Files.newOutputStream(file); OutputStream o = gzip ? new GZIPOutputStream(fo) : fo) {
            o.write(data);
        }
        return file;
    }

    static void assertImages(Tensor x, byte[] pixels, int n, float scale) {
        assertArrayEquals(new int[] {n, 1, ROWS, COLS}, x.shape());
        float[] v = x.toArray();
        for (int i = 0; i < n * ROWS * COLS; i++) assertEquals((pixels[i] & 0xFF) * scale, v[i], 0f, "pixel " + i);
    }

    @Test
    void plainAndGzipReadBackExactly() throws IOException {
        Path dir = TestFiles.freshDir("mnist-exact");
        byte[] px = pixels(7, 1), lb = labels(7, 2);
        for (boolean gz : new boolean[] {false, true}) {
            // the names do not say gzip: detection is by magic bytes
            Path im = write(dir.resolve("images" + gz), idxImages(px, 7), gz);
            Path la = write(dir.resolve("labels" + gz), idxLabels(lb, 7), gz);
            try (Dataset d = Mnist.read(im, la)) {
                assertImages(d.x(), px, 7, 1f / 255f);
                for (int i = 0; i < 7; i++) assertEquals(lb[i], d.y()[i]);
                float[] v = d.x().toArray();
                assertEquals(1f, v[0], 0f);
                assertEquals(0f, v[1], 0f);
            }
            try (Dataset d = Mnist.read(im, la, 3, false)) {
                assertImages(d.x(), px, 3, 1f);
                assertEquals(3, d.size());
            }
        }
    }

    @Test
    void loadsTheFourStandardFilesFromAFolder() throws IOException {
        Path dir = TestFiles.freshDir("mnist-folder");
        byte[] trPx = pixels(6, 3), trLb = labels(6, 4), tePx = pixels(2, 5), teLb = labels(2, 6);
        write(dir.resolve(Mnist.TRAIN_IMAGES + ".gz"), idxImages(trPx, 6), true);
        write(dir.resolve(Mnist.TRAIN_LABELS + ".gz"), idxLabels(trLb, 6), true);
        write(dir.resolve(Mnist.TEST_IMAGES), idxImages(tePx, 2), false);
        write(dir.resolve(Mnist.TEST_LABELS), idxLabels(teLb, 2), false);
        try (Mnist.Data d = Mnist.load(dir)) {
            assertImages(d.train().x(), trPx, 6, 1f / 255f);
            assertImages(d.test().x(), tePx, 2, 1f / 255f);
            assertEquals(teLb[1], d.test().y()[1]);
        }
        try (Mnist.Data d = Mnist.load(dir, 4, 0, false)) {
            assertImages(d.train().x(), trPx, 4, 1f);
            assertEquals(0, d.test().size());
        }
        Files.delete(dir.resolve(Mnist.TEST_LABELS));
        NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> Mnist.load(dir));
        assertTrue(e.getMessage().contains(Mnist.TEST_LABELS) && e.getMessage().contains(Mnist.TEST_LABELS + ".gz"),
                e.getMessage());
    }

    @Test
    void wrongMagicNamesFileExpectedFoundAndOffset0() throws IOException {
        Path dir = TestFiles.freshDir("mnist-magic");
        Path im = write(dir.resolve("im"), idxImages(pixels(2, 1), 2), true);
        Path la = write(dir.resolve("la"), idxLabels(labels(2, 1), 2), false);
        DataFileException e = assertThrows(DataFileException.class, () -> Mnist.read(la, im));   // swapped
        assertTrue(e.getMessage().contains(la.toString()) && e.getMessage().contains("expected 2051")
                && e.getMessage().contains("found 2049") && e.getMessage().contains("byte offset 0"), e.getMessage());
        assertEquals(0, e.offset());
        Path junk = write(dir.resolve("junk"), "hello world, not idx".getBytes(), false);
        DataFileException j = assertThrows(DataFileException.class, () -> Mnist.readLabels(junk, Mnist.ALL));
        assertTrue(j.getMessage().contains("expected 2049") && j.getMessage().contains("junk"), j.getMessage());
    }

    @Test
    void truncatedFileNamesFileAndOffset() throws IOException {
        Path dir = TestFiles.freshDir("mnist-trunc");
        byte[] full = idxImages(pixels(5, 1), 5);
        int cut = 16 + 2 * ROWS * COLS + 5;   // in image 2
        Path plain = write(dir.resolve("cut-images"), java.util.Arrays.copyOf(full, cut), false);
        // a plain file is checked against its size before anything is allocated
        DataFileException e = assertThrows(DataFileException.class, () -> Mnist.readImages(plain, Mnist.ALL, true));
        assertTrue(e.getMessage().contains("cut-images") && e.getMessage().contains("5 x 4 x 3 (76 bytes)")
                && e.getMessage().contains("only " + cut + " bytes"), e.getMessage());
        // a gzip stream cut short: the offset is in the decompressed data, not past the data that exists
        byte[] big = idxImages(pixels(400, 2), 400);
        Path gzFull = write(dir.resolve("full-images.gz"), big, true);
        Path gzCut = TestFiles.truncatedCopy(gzFull, dir.resolve("cut-images.gz"), Files.size(gzFull) / 2);
        DataFileException g = assertThrows(DataFileException.class, () -> Mnist.readImages(gzCut, Mnist.ALL, true));
        assertTrue(g.getMessage().contains("cut-images.gz") && g.getMessage().contains("byte offset"), g.getMessage());
        assertTrue(g.offset() > 16 && g.offset() < big.length, "offset " + g.offset());
        // a header cut short
        Path header = write(dir.resolve("cut-header"), java.util.Arrays.copyOf(full, 10), false);
        DataFileException h = assertThrows(DataFileException.class, () -> Mnist.readImages(header, Mnist.ALL, true));
        assertTrue(h.getMessage().contains("byte offset 10") && h.getMessage().contains("header"), h.getMessage());
    }

    @Test
    void countMismatchAndBadLabelAreReported() throws IOException {
        Path dir = TestFiles.freshDir("mnist-count");
        Path im = write(dir.resolve("im"), idxImages(pixels(5, 1), 5), false);
        Path la = write(dir.resolve("la"), idxLabels(labels(4, 1), 4), false);
        DataFileException e = assertThrows(DataFileException.class, () -> Mnist.read(im, la));
        assertTrue(e.getMessage().contains("4 labels") && e.getMessage().contains("5 images"), e.getMessage());
        byte[] lb = labels(5, 1);
        lb[3] = 10;
        Path bad = write(dir.resolve("bad"), idxLabels(lb, 5), false);
        DataFileException b = assertThrows(DataFileException.class, () -> Mnist.read(im, bad));
        assertTrue(b.getMessage().contains("byte offset 11") && b.getMessage().contains("label 10"), b.getMessage());
    }

    @Test
    void realMnist() throws IOException {
        Path dir = TestFiles.sharedOrSkip("mnist");
        try (Mnist.Data d = Mnist.load(dir)) {
            assertArrayEquals(new int[] {60000, 1, 28, 28}, d.train().x().shape());
            assertArrayEquals(new int[] {10000, 1, 28, 28}, d.test().x().shape());
            // the first labels of the original release
            assertArrayEquals(new int[] {5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, java.util.Arrays.copyOf(d.train().y(), 10));
            assertArrayEquals(new int[] {7, 2, 1, 0, 4, 1, 4, 9, 5, 9}, java.util.Arrays.copyOf(d.test().y(), 10));
            int[] counts = new int[10];
            for (int v : d.train().y()) counts[v]++;
            for (int c = 0; c < 10; c++) assertTrue(counts[c] > 5000 && counts[c] < 7000, "class " + c + ": " + counts[c]);
            Summary px = Summary.of(d.train().x());
            assertEquals(0f, px.min(), 0f);
            assertEquals(1f, px.max(), 0f);
            assertEquals(0.1307, px.mean(), 0.001);   // MNIST's well-known mean
        }
    }

    static byte[] header(int magic, int... dims) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        DataOutputStream o = new DataOutputStream(bo);
        o.writeInt(magic);
        for (int d : dims) o.writeInt(d);
        return bo.toByteArray();
    }

    @Test
    void hostileHeadersAreRejectedBeforeAllocating() throws IOException {
        Path dir = TestFiles.freshDir("mnist-hostile");
        byte[] kb = new byte[1024];
        for (boolean gz : new boolean[] {false, true}) {
            for (int[] dims : new int[][] {{500, 20000, 20000}, {500, 1000, 1000}, {1, 65536, 65536},
                    {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE}}) {
                ByteArrayOutputStream bo = new ByteArrayOutputStream();
                bo.write(header(Mnist.IMAGES_MAGIC, dims));
                bo.write(kb);
                Path f = write(dir.resolve("hostile" + gz), bo.toByteArray(), gz);
                DataFileException e = assertThrows(DataFileException.class, () -> Mnist.readImages(f, Mnist.ALL, true));
                assertTrue(e.getMessage().contains("hostile" + gz) && e.getMessage().contains("the header declares "
                        + dims[0] + " x " + dims[1] + " x " + dims[2]) && e.getMessage().contains("but the file has only"),
                        e.getMessage());
            }
            Path labels = write(dir.resolve("hostile-labels" + gz), header(Mnist.LABELS_MAGIC, 2_000_000_000), gz);
            DataFileException e = assertThrows(DataFileException.class, () -> Mnist.readLabels(labels, Mnist.ALL));
            assertTrue(e.getMessage().contains("declares 2000000000"), e.getMessage());
        }
    }

    @Test
    void extraBytesAfterTheDeclaredDataAreAnError() throws IOException {
        Path dir = TestFiles.freshDir("mnist-tail");
        byte[] good = idxImages(pixels(5, 1), 5);
        byte[] tail = java.util.Arrays.copyOf(good, good.length + 7);
        for (boolean gz : new boolean[] {false, true}) {
            Path f = write(dir.resolve("tail" + gz), tail, gz);
            for (int max : new int[] {Mnist.ALL, 2}) {
                DataFileException e = assertThrows(DataFileException.class, () -> Mnist.readImages(f, max, true));
                assertTrue(e.getMessage().contains("7 bytes follow the " + good.length + " bytes the header declares"),
                        e.getMessage());
            }
        }
    }

    @Test
    void damagedGzipIsRejectedEvenWhenOnlyTheFirstRecordsAreRead() throws IOException {
        Path dir = TestFiles.freshDir("mnist-gzip");
        byte[] data = idxImages(pixels(50, 1), 50);
        Path good = write(dir.resolve("good.gz"), data, true);
        byte[] gz = Files.readAllBytes(good);
        // one flipped bit in the CRC-32 of the trailer: every record inflates fine
        byte[] crc = gz.clone();
        crc[crc.length - 6] ^= 0x10;
        // no trailer at all
        byte[] noTrailer = java.util.Arrays.copyOf(gz, gz.length - 8);
        for (byte[] bad : new byte[][] {crc, noTrailer}) {
            Path f = Files.write(dir.resolve("bad.gz"), bad);
            for (int max : new int[] {Mnist.ALL, 1}) {
                DataFileException e = assertThrows(DataFileException.class, () -> Mnist.readImages(f, max, true));
                assertTrue(e.getMessage().contains("bad.gz") && e.getMessage().contains("corrupt"), e.getMessage());
            }
        }
        try (Tensor x = Mnist.readImages(good, 1, true)) {
            assertEquals(1, x.dim(0));
        }
    }
}
