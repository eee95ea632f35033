package dev.panamann.data;

import dev.panamann.tensor.Tensor;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Reads the CIFAR-10 "binary version": either the downloaded {@code cifar-10-binary.tar.gz},
 * streamed straight from the archive (nothing is extracted), or its extracted
 * {@code cifar-10-batches-bin/} folder.
 *
 * <p>Each of {@code data_batch_1.bin} ... {@code data_batch_5.bin} (training) and
 * {@code test_batch.bin} holds records of 3073 bytes: one label byte (0..9), then 1024 red,
 * 1024 green and 1024 blue pixel bytes, each plane row-major 32x32. That is already NCHW, so
 * an image becomes one (3, 32, 32) row of the dataset with the bytes as floats 0..255, as
 * cs231n's {@code load_CIFAR10} returns them (but channel-first, as the conv layers want, not
 * cs231n's (32, 32, 3)). Class names come from {@code batches.meta.txt}; if the data has no
 * such file the standard names {@link #CLASS_NAMES} are used.
 *
 * <p>The standard files hold 10000 records each, but any whole number of records is accepted.
 * Limits ({@link #load(Path, int, int)}) read only the first records (training records in
 * batch order 1..5), and batches past the limit are neither read nor required.
 *
 * <p>Bad data fails with an exception naming the file (and archive entry) and the byte offset:
 * {@link NoSuchFileException} when a file is missing (saying where it looked),
 * {@link DataFileException} for a truncated file, an entry whose size is not a whole number of
 * records, a label byte above 9 or an unreadable class-name list.
 */
public final class Cifar10 {
    /** Number of classes. */
    public static final int NUM_CLASSES = 10;
    /** Channels, height and width of one image. */
    public static final int CHANNELS = 3, HEIGHT = 32, WIDTH = 32;
    /** Pixel bytes of one image: 3 * 32 * 32. */
    public static final int IMAGE_BYTES = CHANNELS * HEIGHT * WIDTH;
    /** Bytes of one record: the label byte and the pixels. */
    public static final int RECORD_BYTES = 1 + IMAGE_BYTES;
    /** The archive's usual file name. */
    public static final String ARCHIVE_NAME = "cifar-10-binary.tar.gz";
    /** The folder the archive extracts to. */
    public static final String FOLDER_NAME = "cifar-10-batches-bin";
    /** The class-name list inside the folder. */
    public static final String META_NAME = "batches.meta.txt";
    /** The training batch files, in the order their records are concatenated. */
    public static final List<String> TRAIN_FILES = List.of(
            "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin");
    /** The test batch file. */
    public static final String TEST_FILE = "test_batch.bin";
    /** The standard class names, used when the data has no {@link #META_NAME}. */
    public static final List<String> CLASS_NAMES = List.of(
            "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck");
    /** "No limit" for {@link #load(Path, int, int)}. */
    public static final int ALL = Integer.MAX_VALUE;

    private static final int MAX_META_BYTES = 1 << 16;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Cifar10() {}

    /**
     * CIFAR-10 as datasets. Closing it closes both.
     *
     * @param train      x (N_train, 3, 32, 32) float32 pixel values 0..255, y N_train labels 0..9
     * @param test       x (N_test, 3, 32, 32), y N_test labels
     * @param classNames the 10 class names, index = label
     */
    public record Data(Dataset train, Dataset test, List<String> classNames) implements AutoCloseable {
        @Override
        public void close() {
            train.close();
            test.close();
        }
    }

    /**
     * Loads all 50000 training and 10000 test images.
     *
     * @param path {@code cifar-10-binary.tar.gz} (or the uncompressed {@code .tar}), the
     *             {@code cifar-10-batches-bin} folder, or a folder holding either of them
     */
    public static Data load(Path path) throws IOException {
        return load(path, ALL, ALL);
    }

    /**
     * Loads the first {@code maxTrain} training and the first {@code maxTest} test images.
     *
     * @param path     the archive, the extracted folder, or a folder holding either
     * @param maxTrain training records to read at most ({@link #ALL} for every one, 0 for none)
     * @param maxTest  test records to read at most ({@link #ALL} for every one, 0 for none)
     */
    public static Data load(Path path, int maxTrain, int maxTest) throws IOException {
        if (maxTrain < 0 || maxTest < 0) {
            throw new IllegalArgumentException("record limits must be >= 0, got maxTrain=" + maxTrain + ", maxTest=" + maxTest);
        }
        Parts parts = new Parts(maxTrain, maxTest);
        Path source = resolve(path);
        if (Files.isDirectory(source)) readFolder(source, parts);
        else readArchive(source, parts);
        return parts.assemble();
    }

    // ------------------------------------------------------------------ locating the data

    private static Path resolve(Path path) throws IOException {
        if (Files.isRegularFile(path)) return path;
        if (Files.isDirectory(path)) {
            if (holdsBatches(path)) return path;
            Path folder = path.resolve(FOLDER_NAME);
            if (Files.isDirectory(folder)) return folder;
            Path archive = path.resolve(ARCHIVE_NAME);
            if (Files.isRegularFile(archive)) return archive;
            throw new NoSuchFileException(path.toString(), null, "no CIFAR-10 data here: looked for "
                    + path.resolve(TRAIN_FILES.get(0)) + ", " + folder + "/ and " + archive + ". " + expected());
        }
        throw new NoSuchFileException(path.toString(), null, "does not exist. " + expected());
    }

    private static boolean holdsBatches(Path dir) {
        if (Files.isRegularFile(dir.resolve(TEST_FILE))) return true;
        for (String f : TRAIN_FILES) if (Files.isRegularFile(dir.resolve(f))) return true;
        return false;
    }

    private static String expected() {
        return "Expected the CIFAR-10 binary version: the file " + ARCHIVE_NAME + " or the folder " + FOLDER_NAME
                + "/ it extracts to, holding " + String.join(", ", TRAIN_FILES) + ", " + TEST_FILE + " and " + META_NAME + ".";
    }

    // ------------------------------------------------------------------ folder

    private static void readFolder(Path dir, Parts parts) throws IOException {
        Path meta = dir.resolve(META_NAME);
        if (Files.isRegularFile(meta)) {
            try (InputStream in = Files.newInputStream(meta)) {
                parts.names = readNames(in, Files.size(meta), meta.toString(), null);
            }
        }
        for (int b = 0; b < TRAIN_FILES.size() && parts.trainWanted() > 0; b++) {
            parts.train[b] = readFile(dir, TRAIN_FILES.get(b), parts.trainWanted());
        }
        if (parts.maxTest > 0) parts.test = readFile(dir, TEST_FILE, parts.maxTest);
    }

    private static byte[] readFile(Path dir, String name, int maxRecords) throws IOException {
        Path f = dir.resolve(name);
        if (!Files.isRegularFile(f)) {
            throw new NoSuchFileException(f.toString(), null, "CIFAR-10 batch file missing. " + expected());
        }
        try (InputStream in = Files.newInputStream(f)) {
            return readRecords(in, Files.size(f), maxRecords, f.toString(), null, null);
        }
    }

    // ------------------------------------------------------------------ archive

    private static void readArchive(Path file, Parts parts) throws IOException {
        String fileName = file.toString();
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            raw.mark(2);
            int b0 = raw.read(), b1 = raw.read();
            raw.reset();
            GzipCompressorInputStream gz = null;
            if (b0 == 0x1f && b1 == 0x8b) {
                try {
                    gz = new GzipCompressorInputStream(raw);
                } catch (IOException ex) {
                    throw new DataFileException(fileName, null, 0, "starts like gzip but its header cannot be read: "
                            + describe(ex) + ". " + expected(), ex);
                }
            }
            TarArchiveInputStream tar = new TarArchiveInputStream(gz != null ? gz : raw);
            // what a gzip archive can hold: a deflate stream expands at most about 1032:1 (a plain
            // tar cut short is reported at the exact offset where its data ends)
            long canHold = gz != null ? Files.size(file) * 1032 + 1024 : Long.MAX_VALUE;
            String last = null;
            while (!parts.done()) {
                TarArchiveEntry e;
                try {
                    e = tar.getNextEntry();
                } catch (IOException ex) {
                    throw new DataFileException(fileName, null, -1, "cannot read the "
                            + (last == null ? "first tar header" : "tar header after entry " + last) + where(gz) + ": " + describe(ex)
                            + ". The archive is truncated or not a tar file. " + expected(), ex);
                }
                if (e == null) break;
                if (!e.isFile()) continue;
                last = e.getName();
                String base = last.substring(last.lastIndexOf('/') + 1);
                int batch = TRAIN_FILES.indexOf(base);
                if (batch >= 0 && parts.train[batch] == null) {
                    parts.train[batch] = readRecords(tar, checkEntrySize(e, canHold, fileName), parts.trainWantedFrom(batch),
                            fileName, last, gz);
                } else if (base.equals(TEST_FILE) && parts.test == null) {
                    parts.test = readRecords(tar, checkEntrySize(e, canHold, fileName), parts.maxTest, fileName, last, gz);
                } else if (base.equals(META_NAME) && parts.names == null) {
                    parts.names = readNames(tar, e.getSize(), fileName, last);
                }
            }
            parts.missingEntry(fileName, gz);
            if (gz != null) {
                // read the gzip stream to its end: its CRC-32 and length trailer cover the records used too
                try {
                    gz.transferTo(OutputStream.nullOutputStream());
                } catch (IOException ex) {
                    throw new DataFileException(fileName, null, -1, "the gzip data is corrupt" + where(gz) + ": "
                            + describe(ex) + " (gzip -t rejects this file too). The records read so far are not "
                            + "trusted; get a fresh copy. " + expected(), ex);
                }
            }
        }
    }

    /** The size a tar entry declares, checked against what the archive can hold before anything is allocated. */
    private static long checkEntrySize(TarArchiveEntry e, long canHold, String file) throws DataFileException {
        if (e.getSize() > canHold) {
            throw new DataFileException(file, e.getName(), -1, "the tar header declares " + e.getSize() + " bytes ("
                    + e.getSize() / RECORD_BYTES + " records) but the archive can hold at most " + canHold
                    + ". The archive is damaged or not CIFAR-10 binary data.");
        }
        return e.getSize();
    }

    /** The exception's message without a trailing period, or its class name when it has none. */
    static String describe(IOException e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) return e.getClass().getSimpleName();
        m = m.strip();
        while (m.endsWith(".")) m = m.substring(0, m.length() - 1);
        return m;
    }

    private static String where(GzipCompressorInputStream gz) {
        return gz == null ? "" : " (near compressed byte " + gz.getCompressedCount() + ")";
    }

    // ------------------------------------------------------------------ records

    /** Reads min(size / RECORD_BYTES, maxRecords) records, checking sizes and labels. */
    private static byte[] readRecords(InputStream in, long size, int maxRecords, String file, String entry,
                                      GzipCompressorInputStream gz) throws IOException {
        String what = entry == null ? "file" : "entry";
        if (size % RECORD_BYTES != 0) {
            long whole = size / RECORD_BYTES;
            throw new DataFileException(file, entry, whole * RECORD_BYTES, "the " + what + " has " + size
                    + " bytes, not a whole number of " + RECORD_BYTES + "-byte records (1 label byte + " + IMAGE_BYTES
                    + " pixel bytes): record " + whole + " breaks off after " + size % RECORD_BYTES
                    + " bytes. The file is truncated or not CIFAR-10 binary data.");
        }
        long records = size / RECORD_BYTES;
        long n = Math.min(records, maxRecords);
        if (n * RECORD_BYTES > Integer.MAX_VALUE - 64) {
            throw new DataFileException(file, entry, -1, "the " + what + " holds " + records
                    + " records, more than one batch can be read at once; read fewer (a limit) or split the file");
        }
        // grow with the data that actually arrives: a header that claims more than the file
        // holds costs no more memory than the data that is there
        int want = (int) (n * RECORD_BYTES);
        byte[] buf = new byte[Math.min(want, 256 * RECORD_BYTES)];
        int off = 0;
        while (off < want) {
            if (off == buf.length) buf = java.util.Arrays.copyOf(buf, (int) Math.min(want, 2L * buf.length));
            int r;
            try {
                // at most to the end of the current record: a decompressor that fails drops what
                // it had inflated in this call, so the offset stays within the broken record
                r = in.read(buf, off, RECORD_BYTES - off % RECORD_BYTES);
            } catch (IOException ex) {
                throw new DataFileException(file, entry, off, "read failed in record " + off / RECORD_BYTES + where(gz)
                        + ": " + describe(ex) + ". The file is truncated or corrupt.", ex);
            }
            if (r < 0) {
                throw new DataFileException(file, entry, off, "data ends in record " + off / RECORD_BYTES + where(gz)
                        + ", but the " + what + " should hold " + size + " bytes (" + records
                        + " records). The file is truncated.");
            }
            off += r;
        }
        for (int i = 0; i < n; i++) {
            int label = buf[i * RECORD_BYTES] & 0xFF;
            if (label >= NUM_CLASSES) {
                throw new DataFileException(file, entry, (long) i * RECORD_BYTES, "label byte " + label + " of record " + i
                        + " is not a CIFAR-10 class (0.." + (NUM_CLASSES - 1) + ")");
            }
        }
        return buf;
    }

    private static List<String> readNames(InputStream in, long size, String file, String entry) throws IOException {
        if (size > MAX_META_BYTES) {
            throw new DataFileException(file, entry, -1, META_NAME + " has " + size + " bytes; expected "
                    + NUM_CLASSES + " short class names, one a line");
        }
        byte[] b = in.readNBytes((int) size);
        if (b.length < size) {
            throw new DataFileException(file, entry, b.length, META_NAME + " ends after " + b.length + " of " + size
                    + " bytes. The file is truncated.");
        }
        List<String> names = new ArrayList<>();
        for (String line : new String(b, StandardCharsets.UTF_8).split("\r?\n")) {
            if (!line.isBlank()) names.add(line.strip());
        }
        if (names.size() != NUM_CLASSES) {
            throw new DataFileException(file, entry, -1, META_NAME + " lists " + names.size() + " class names " + names
                    + "; expected " + NUM_CLASSES + ", one a line");
        }
        return List.copyOf(names);
    }

    /** Converts records (label + pixels) to a dataset: pixels as floats 0..255. */
    private static Dataset toDataset(List<byte[]> chunks, int count) {
        Tensor x = Tensor.zeros(count, CHANNELS, HEIGHT, WIDTH);
        int[] y = new int[count];
        MemorySegment seg = x.segment();
        float[] row = new float[IMAGE_BYTES];
        int r = 0;
        for (byte[] c : chunks) {
            for (int o = 0; o < c.length && r < count; o += RECORD_BYTES, r++) {
                y[r] = c[o] & 0xFF;
                for (int p = 0; p < IMAGE_BYTES; p++) row[p] = c[o + 1 + p] & 0xFF;
                MemorySegment.copy(row, 0, seg, F, (long) r * IMAGE_BYTES * Float.BYTES, IMAGE_BYTES);
            }
        }
        return new Dataset(x, y);
    }

    /** What has been read so far, and what is still wanted. */
    private static final class Parts {
        final int maxTrain, maxTest;
        final byte[][] train = new byte[TRAIN_FILES.size()][];
        byte[] test;
        List<String> names;

        Parts(int maxTrain, int maxTest) {
            this.maxTrain = maxTrain;
            this.maxTest = maxTest;
        }

        /** Training records still wanted after the batches read in order so far. */
        int trainWanted() {
            long have = 0;
            for (byte[] b : train) {
                if (b == null) break;
                have += b.length / RECORD_BYTES;
            }
            return (int) Math.max(0, maxTrain - have);
        }

        /** Records wanted from batch {@code b}: exact when the batches before it are read, else an upper bound. */
        int trainWantedFrom(int b) {
            long have = 0;
            for (int i = 0; i < b; i++) {
                if (train[i] == null) return maxTrain;
                have += train[i].length / RECORD_BYTES;
            }
            return (int) Math.max(0, maxTrain - have);
        }

        boolean trainDone() {
            if (trainWanted() == 0) return true;
            for (byte[] b : train) if (b == null) return false;
            return true;
        }

        boolean done() {
            return names != null && trainDone() && (maxTest == 0 || test != null);
        }

        void missingEntry(String file, GzipCompressorInputStream gz) throws DataFileException {
            List<String> missing = new ArrayList<>();
            long have = 0;
            for (int b = 0; b < train.length && have < maxTrain; b++) {
                if (train[b] == null) missing.add(TRAIN_FILES.get(b));
                else have += train[b].length / RECORD_BYTES;
            }
            if (maxTest > 0 && test == null) missing.add(TEST_FILE);
            if (!missing.isEmpty()) {
                throw new DataFileException(file, null, -1, "the archive has no entry " + String.join(", ", missing)
                        + (gz == null ? "" : " (it ended after " + gz.getCompressedCount() + " compressed bytes)")
                        + ". It is truncated or not the CIFAR-10 binary version. " + expected());
            }
        }

        Data assemble() {
            List<byte[]> chunks = new ArrayList<>();
            long n = 0;
            for (byte[] b : train) {
                if (b == null || n >= maxTrain) break;
                chunks.add(b);
                n += b.length / RECORD_BYTES;
            }
            Dataset tr = toDataset(chunks, (int) Math.min(n, maxTrain));
            try {
                byte[] t = test == null ? new byte[0] : test;
                Dataset te = toDataset(List.of(t), Math.min(t.length / RECORD_BYTES, maxTest));
                return new Data(tr, te, names == null ? CLASS_NAMES : names);
            } catch (RuntimeException | Error e) {
                tr.close();
                throw e;
            }
        }
    }
}
