package dev.panamann.data;

import dev.panamann.testutil.TestFiles;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Rng;
import dev.panamann.testutil.Summary;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.Test;

class Cifar10Test {
    static final List<String> NAMES = List.of("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9");

    /** Random records: label (seeded, 0..9) and random pixel bytes. */
    static byte[] records(int n, long seed) {
        Rng rng = new Rng(seed);
        byte[] b = new byte[n * Cifar10.RECORD_BYTES];
        for (int i = 0; i < b.length; i++) b[i] = (byte) rng.nextInt(256);
        for (int r = 0; r < n; r++) b[r * Cifar10.RECORD_BYTES] = (byte) rng.nextInt(10);
        return b;
    }

    /** File name -> contents of a small CIFAR-10 folder: batch sizes 3,2,4,1,2 and 5 test records. */
    static Map<String, byte[]> smallSet() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put(Cifar10.META_NAME, (String.join("\n", NAMES) + "\n\n").getBytes(StandardCharsets.UTF_8));
        int[] sizes = {3, 2, 4, 1, 2};
        for (int b = 0; b < 5; b++) m.put(Cifar10.TRAIN_FILES.get(b), records(sizes[b], 100 + b));
        m.put(Cifar10.TEST_FILE, records(5, 200));
        return m;
    }

    static Path writeFolder(Path dir, Map<String, byte[]> files) throws IOException {
        Path f = Files.createDirectories(dir.resolve(Cifar10.FOLDER_NAME));
        for (var e : files.entrySet()) Files.write(f.resolve(e.getKey()), e.getValue());
        return f;
    }

    static Path writeTar(Path file, Map<String, byte[]> files, boolean gzip) throws IOException {
        try (OutputStream fo = Files.newOutputStream(file);
             OutputStream o = gzip ? new GzipCompressorOutputStream(fo) : fo;
             TarArchiveOutputStream tar = new TarArchiveOutputStream(o)) {
            for (var e : files.entrySet()) {
                TarArchiveEntry te = new TarArchiveEntry(Cifar10.FOLDER_NAME + "/" + e.getKey());
                te.setSize(e.getValue().length);
                tar.putArchiveEntry(te);
                tar.write(e.getValue());
                tar.closeArchiveEntry();
            }
        }
        return file;
    }

    /** Checks that {@code d} holds exactly the records in {@code chunks}, in order (first {@code n}). */
    static void assertHolds(Dataset d, List<byte[]> chunks, int n) {
        assertArrayEquals(new int[] {n, 3, 32, 32}, d.x().shape());
        float[] x = d.x().toArray();
        int r = 0;
        for (byte[] c : chunks) {
            for (int o = 0; o < c.length && r < n; o += Cifar10.RECORD_BYTES, r++) {
                assertEquals(c[o] & 0xFF, d.y()[r], "label " + r);
                for (int p = 0; p < Cifar10.IMAGE_BYTES; p++) {
                    if ((c[o + 1 + p] & 0xFF) != x[r * Cifar10.IMAGE_BYTES + p]) {
                        throw new AssertionError("record " + r + " pixel " + p + ": expected " + (c[o + 1 + p] & 0xFF)
                                + " got " + x[r * Cifar10.IMAGE_BYTES + p]);
                    }
                }
            }
        }
        assertEquals(n, r, "records compared");
    }

    static List<byte[]> trainChunks(Map<String, byte[]> m) {
        List<byte[]> l = new ArrayList<>();
        for (String f : Cifar10.TRAIN_FILES) l.add(m.get(f));
        return l;
    }

    @Test
    void readsFolderParentTarGzAndTarExactly() throws IOException {
        Path dir = TestFiles.freshDir("cifar-exact");
        Map<String, byte[]> m = smallSet();
        Path folder = writeFolder(dir, m);
        Path tgz = writeTar(dir.resolve(Cifar10.ARCHIVE_NAME), m, true);
        Path tar = writeTar(dir.resolve("cifar.tar"), m, false);
        for (Path p : List.of(folder, dir, tgz, tar)) {
            try (Cifar10.Data d = Cifar10.load(p)) {
                assertHolds(d.train(), trainChunks(m), 12);
                assertHolds(d.test(), List.of(m.get(Cifar10.TEST_FILE)), 5);
                assertEquals(NAMES, d.classNames(), p.toString());
            }
        }
    }

    @Test
    void parentFolderWithOnlyTheArchiveIsFound() throws IOException {
        Path dir = TestFiles.freshDir("cifar-parent-archive");
        Map<String, byte[]> m = smallSet();
        writeTar(dir.resolve(Cifar10.ARCHIVE_NAME), m, true);
        try (Cifar10.Data d = Cifar10.load(dir)) {
            assertEquals(12, d.train().size());
            assertEquals(5, d.test().size());
        }
    }

    @Test
    void limitsReadTheFirstRecordsInBatchOrder() throws IOException {
        Path dir = TestFiles.freshDir("cifar-limits");
        Map<String, byte[]> m = smallSet();
        Path folder = writeFolder(dir, m);
        Path tgz = writeTar(dir.resolve(Cifar10.ARCHIVE_NAME), m, true);
        for (Path p : List.of(folder, tgz)) {
            try (Cifar10.Data d = Cifar10.load(p, 4, 0)) {  // 3 from batch 1, 1 from batch 2
                assertHolds(d.train(), trainChunks(m), 4);
                assertEquals(0, d.test().size());
            }
            try (Cifar10.Data d = Cifar10.load(p, 0, 2)) {
                assertEquals(0, d.train().size());
                assertHolds(d.test(), List.of(m.get(Cifar10.TEST_FILE)), 2);
            }
            try (Cifar10.Data d = Cifar10.load(p, 1000, 1000)) {  // more than there is: all
                assertHolds(d.train(), trainChunks(m), 12);
            }
        }
    }

    @Test
    void withoutMetaTheStandardNamesAreUsed() throws IOException {
        Path dir = TestFiles.freshDir("cifar-nometa");
        Map<String, byte[]> m = smallSet();
        m.remove(Cifar10.META_NAME);
        try (Cifar10.Data d = Cifar10.load(writeFolder(dir, m))) {
            assertEquals(Cifar10.CLASS_NAMES, d.classNames());
        }
    }

    @Test
    void truncatedFolderFileNamesFileAndOffset() throws IOException {
        Path dir = TestFiles.freshDir("cifar-trunc-folder");
        Map<String, byte[]> m = smallSet();
        byte[] two = m.get("data_batch_2.bin");
        m.put("data_batch_2.bin", java.util.Arrays.copyOf(two, Cifar10.RECORD_BYTES + 100));
        Path folder = writeFolder(dir, m);
        DataFileException e = assertThrows(DataFileException.class, () -> Cifar10.load(folder));
        assertTrue(e.getMessage().contains("data_batch_2.bin") && e.getMessage().contains("byte offset 3073"), e.getMessage());
        assertEquals(3073, e.offset());
        // the same size problem inside an archive names the entry
        Path tgz = writeTar(dir.resolve(Cifar10.ARCHIVE_NAME), m, true);
        DataFileException t = assertThrows(DataFileException.class, () -> Cifar10.load(tgz));
        assertTrue(t.getMessage().contains(Cifar10.ARCHIVE_NAME) && t.getMessage().contains("data_batch_2.bin")
                && t.getMessage().contains("byte offset 3073"), t.getMessage());
    }

    @Test
    void truncatedPlainTarNamesEntryAndExactOffset() throws IOException {
        Path dir = TestFiles.freshDir("cifar-trunc-tar");
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put(Cifar10.META_NAME, String.join("\n", NAMES).getBytes(StandardCharsets.UTF_8));
        m.put("data_batch_1.bin", records(4, 7));
        Path full = writeTar(dir.resolve("full.tar"), m, false);
        // layout: meta header (512) + meta data (512), batch header (512), batch data from 1536
        long cutInEntry = Cifar10.RECORD_BYTES + 1000;
        Path cut = TestFiles.truncatedCopy(full, dir.resolve("cut.tar"), 1536 + cutInEntry);
        DataFileException e = assertThrows(DataFileException.class, () -> Cifar10.load(cut));
        assertTrue(e.getMessage().contains("cut.tar") && e.getMessage().contains("data_batch_1.bin")
                && e.getMessage().contains("byte offset " + cutInEntry), e.getMessage());
        assertEquals(cutInEntry, e.offset());
    }

    @Test
    void truncatedTarGzNamesEntryAndOffset() throws IOException {
        Path dir = TestFiles.freshDir("cifar-trunc-tgz");
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put(Cifar10.META_NAME, String.join("\n", NAMES).getBytes(StandardCharsets.UTF_8));
        int records = 200;
        m.put("data_batch_1.bin", records(records, 8));   // random bytes: the gzip is about as large
        m.put("test_batch.bin", records(1, 9));
        Path full = writeTar(dir.resolve("full.tar.gz"), m, true);
        Path cut = TestFiles.truncatedCopy(full, dir.resolve("cut.tar.gz"), Files.size(full) / 2);
        DataFileException e = assertThrows(DataFileException.class, () -> Cifar10.load(cut));
        assertTrue(e.getMessage().contains("cut.tar.gz") && e.getMessage().contains("data_batch_1.bin")
                && e.getMessage().contains("byte offset"), e.getMessage());
        assertTrue(e.offset() > 0 && e.offset() < (long) records * Cifar10.RECORD_BYTES, "offset " + e.offset());
    }

    @Test
    void labelAbove9NamesFileAndOffset() throws IOException {
        Path dir = TestFiles.freshDir("cifar-badlabel");
        Map<String, byte[]> m = smallSet();
        m.get("data_batch_3.bin")[2 * Cifar10.RECORD_BYTES] = 10;
        Path folder = writeFolder(dir, m);
        DataFileException e = assertThrows(DataFileException.class, () -> Cifar10.load(folder));
        assertTrue(e.getMessage().contains("data_batch_3.bin") && e.getMessage().contains("byte offset 6146")
                && e.getMessage().contains("label byte 10"), e.getMessage());
        Path tgz = writeTar(dir.resolve(Cifar10.ARCHIVE_NAME), m, true);
        DataFileException t = assertThrows(DataFileException.class, () -> Cifar10.load(tgz));
        assertTrue(t.getMessage().contains("data_batch_3.bin") && t.getMessage().contains("byte offset 6146"), t.getMessage());
        // a limit that stops before the bad record reads fine
        try (Cifar10.Data d = Cifar10.load(folder, 5, 0)) {
            assertEquals(5, d.train().size());
        }
    }

    @Test
    void missingDataSaysWhereItLookedAndWhatIsExpected() throws IOException {
        Path dir = TestFiles.freshDir("cifar-missing");
        NoSuchFileException none = assertThrows(NoSuchFileException.class, () -> Cifar10.load(dir.resolve("nope.tar.gz")));
        assertTrue(none.getMessage().contains("nope.tar.gz") && none.getMessage().contains(Cifar10.ARCHIVE_NAME), none.getMessage());
        NoSuchFileException empty = assertThrows(NoSuchFileException.class, () -> Cifar10.load(dir));
        assertTrue(empty.getMessage().contains(Cifar10.FOLDER_NAME) && empty.getMessage().contains("data_batch_1.bin"),
                empty.getMessage());

        Map<String, byte[]> m = smallSet();
        m.remove("data_batch_3.bin");
        Path folder = writeFolder(dir, m);
        NoSuchFileException f = assertThrows(NoSuchFileException.class, () -> Cifar10.load(folder));
        assertTrue(f.getMessage().contains("data_batch_3.bin"), f.getMessage());
        Path tgz = writeTar(dir.resolve(Cifar10.ARCHIVE_NAME), m, true);
        DataFileException t = assertThrows(DataFileException.class, () -> Cifar10.load(tgz));
        assertTrue(t.getMessage().contains("data_batch_3.bin") && t.getMessage().contains(Cifar10.ARCHIVE_NAME), t.getMessage());
    }

    @Test
    void badClassListIsReported() throws IOException {
        Path dir = TestFiles.freshDir("cifar-badmeta");
        Map<String, byte[]> m = smallSet();
        m.put(Cifar10.META_NAME, "a\nb\nc\n".getBytes(StandardCharsets.UTF_8));
        Path folder = writeFolder(dir, m);
        DataFileException e = assertThrows(DataFileException.class, () -> Cifar10.load(folder));
        assertTrue(e.getMessage().contains(Cifar10.META_NAME) && e.getMessage().contains("3 class names"), e.getMessage());
    }

    @Test
    void notATarIsReported() throws IOException {
        Path dir = TestFiles.freshDir("cifar-notar");
        Path f = Files.write(dir.resolve("junk.tar.gz"), "this is not an archive at all".repeat(40).getBytes(StandardCharsets.UTF_8));
        IOException e = assertThrows(IOException.class, () -> Cifar10.load(f));
        assertTrue(e.getMessage().contains("junk.tar.gz"), e.getMessage());
    }

    @Test
    void realArchiveFirst500TrainAndAllTest() throws IOException {
        Path archive = TestFiles.sharedOrSkip("cifar10/" + Cifar10.ARCHIVE_NAME);
        try (Cifar10.Data d = Cifar10.load(archive, 500, Cifar10.ALL)) {
            assertArrayEquals(new int[] {500, 3, 32, 32}, d.train().x().shape());
            assertArrayEquals(new int[] {10000, 3, 32, 32}, d.test().x().shape());
            assertEquals(Cifar10.CLASS_NAMES, d.classNames());
            int[] counts = new int[10];
            for (int v : d.test().y()) counts[v]++;      // the constructor checks >= 0; index checks <= 9
            for (int c = 0; c < 10; c++) assertEquals(1000, counts[c], "test images of class " + c);
            for (int v : d.train().y()) assertTrue(v >= 0 && v < 10);
            Summary px = Summary.of(d.train().x());
            assertTrue(px.min() >= 0 && px.max() <= 255 && px.max() > 200, "pixel range " + px.min() + ".." + px.max());
            assertTrue(px.mean() > 90 && px.mean() < 150, "mean pixel " + px.mean());   // CIFAR-10's mean is about 120
        }
    }

    /** Rewrites the size field of the tar header at {@code at} (octal, with its checksum). */
    static void patchTarSize(byte[] tar, int at, long size) {
        byte[] field = String.format("%011o", size).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(field, 0, tar, at + 124, 11);
        tar[at + 135] = 0;
        java.util.Arrays.fill(tar, at + 148, at + 156, (byte) ' ');
        long sum = 0;
        for (int k = 0; k < 512; k++) sum += tar[at + k] & 0xFF;
        byte[] chk = String.format("%06o", sum).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(chk, 0, tar, at + 148, 6);
        tar[at + 154] = 0;
    }

    @Test
    void tarEntryClaimingHugeSizeFailsWithoutAllocatingIt() throws IOException {
        Path dir = TestFiles.freshDir("cifar-hostile");
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("data_batch_1.bin", records(2, 7));
        byte[] tar = Files.readAllBytes(writeTar(dir.resolve("ok.tar"), m, false));
        patchTarSize(tar, 0, 690_000L * Cifar10.RECORD_BYTES);
        Path plain = Files.write(dir.resolve("hostile.tar"), tar);
        DataFileException e = assertThrows(DataFileException.class, () -> Cifar10.load(plain, 690_000, 0));
        assertTrue(e.getMessage().contains("hostile.tar") && e.getMessage().contains("record 2") && e.getMessage().contains("truncated"),
                e.getMessage());
        Path gz = dir.resolve("hostile.tar.gz");
        try (OutputStream o = new GzipCompressorOutputStream(Files.newOutputStream(gz))) {
            o.write(tar);
        }
        DataFileException g = assertThrows(DataFileException.class, () -> Cifar10.load(gz, 690_000, 0));
        assertTrue(g.getMessage().contains("hostile.tar.gz") && g.getMessage().contains("declares "
                + 690_000L * Cifar10.RECORD_BYTES + " bytes (690000 records)"), g.getMessage());
    }

    @Test
    void flippedBitOrMissingTrailerInTheGzipIsAnErrorEvenWithALimit() throws IOException {
        Path dir = TestFiles.freshDir("cifar-gzip-damage");
        Path good = writeTar(dir.resolve("good.tar.gz"), smallSet(), true);
        byte[] gz = Files.readAllBytes(good);
        byte[] crc = gz.clone();
        crc[crc.length - 7] ^= 0x01;      // one bit of the CRC-32
        byte[] noTrailer = java.util.Arrays.copyOf(gz, gz.length - 8);
        for (byte[] bad : new byte[][] {crc, noTrailer}) {
            Path f = Files.write(dir.resolve("bad.tar.gz"), bad);
            for (int max : new int[] {Cifar10.ALL, 1}) {
                DataFileException e = assertThrows(DataFileException.class, () -> Cifar10.load(f, max, max));
                assertTrue(e.getMessage().contains("bad.tar.gz") && e.getMessage().contains("corrupt"), e.getMessage());
            }
        }
        try (Cifar10.Data d = Cifar10.load(good, 1, 1)) {
            assertEquals(1, d.train().size());
        }
    }
}
