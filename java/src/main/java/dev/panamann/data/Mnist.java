package dev.panamann.data;

import dev.panamann.tensor.Tensor;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads MNIST-style idx files, gzip-compressed or not (told apart by the gzip magic bytes
 * {@code 1f 8b}, not by the file name).
 *
 * <p>An image file starts with the big-endian ints magic {@value #IMAGES_MAGIC}, count, rows,
 * cols, then count*rows*cols pixel bytes; a label file with magic {@value #LABELS_MAGIC} and
 * count, then count label bytes. Images become x of shape (N, 1, rows, cols): by default pixel
 * values are scaled to [0, 1] (byte / 255), or kept as raw floats 0..255 on request. Labels must
 * be 0..9.
 *
 * <p>Bad data fails with an exception naming the file and the byte offset (for a gzip file,
 * the offset in the decompressed data): {@link NoSuchFileException} for a missing file,
 * {@link DataFileException} for a wrong magic number (offset 0), a truncated file, a label
 * above 9, or image and label files of different counts.
 */
public final class Mnist {
    /** Magic number of an idx image file (unsigned bytes, 3 dimensions). */
    public static final int IMAGES_MAGIC = 2051;
    /** Magic number of an idx label file (unsigned bytes, 1 dimension). */
    public static final int LABELS_MAGIC = 2049;
    /** Number of classes (digits). */
    public static final int NUM_CLASSES = 10;
    /** The standard file names (each may also end in {@code .gz}). */
    public static final String TRAIN_IMAGES = "train-images-idx3-ubyte", TRAIN_LABELS = "train-labels-idx1-ubyte",
            TEST_IMAGES = "t10k-images-idx3-ubyte", TEST_LABELS = "t10k-labels-idx1-ubyte";
    /** "No limit" for the {@code max} arguments. */
    public static final int ALL = Integer.MAX_VALUE;

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Largest data size (bytes) a header may declare: far above MNIST's 47 MB, far below a tensor's limit. */
    private static final long MAX_DECLARED = 1L << 40;

    private Mnist() {}

    /**
     * MNIST as datasets. Closing it closes both.
     *
     * @param train x (N_train, 1, 28, 28) float32, y N_train labels 0..9
     * @param test  x (N_test, 1, 28, 28), y N_test labels
     */
    public record Data(Dataset train, Dataset test) implements AutoCloseable {
        @Override
        public void close() {
            train.close();
            test.close();
        }
    }

    /**
     * Loads the four standard files (60000 training, 10000 test digits) from a folder, pixel
     * values scaled to [0, 1].
     *
     * @param dir folder holding {@code train-images-idx3-ubyte(.gz)}, {@code train-labels-idx1-ubyte(.gz)},
     *            {@code t10k-images-idx3-ubyte(.gz)} and {@code t10k-labels-idx1-ubyte(.gz)}
     */
    public static Data load(Path dir) throws IOException {
        return load(dir, ALL, ALL, true);
    }

    /**
     * Loads the first {@code maxTrain} training and {@code maxTest} test digits from a folder.
     *
     * @param dir      folder holding the four standard files, each plain or {@code .gz}
     * @param maxTrain training digits to read at most ({@link #ALL} for all, 0 for none)
     * @param maxTest  test digits to read at most ({@link #ALL} for all, 0 for none)
     * @param scale    true: pixels / 255 in [0, 1]; false: raw pixel values 0..255 as floats
     */
    public static Data load(Path dir, int maxTrain, int maxTest, boolean scale) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "is not a folder; expected a folder holding the MNIST files "
                    + TRAIN_IMAGES + ", " + TRAIN_LABELS + ", " + TEST_IMAGES + ", " + TEST_LABELS + " (each plain or .gz)");
        }
        Path trainImages = find(dir, TRAIN_IMAGES), trainLabels = find(dir, TRAIN_LABELS);
        Path testImages = find(dir, TEST_IMAGES), testLabels = find(dir, TEST_LABELS);
        Dataset train = read(trainImages, trainLabels, maxTrain, scale);
        try {
            return new Data(train, read(testImages, testLabels, maxTest, scale));
        } catch (IOException | RuntimeException | Error e) {
            train.close();
            throw e;
        }
    }

    /** The file {@code name} or {@code name.gz} in {@code dir}. */
    private static Path find(Path dir, String name) throws NoSuchFileException {
        Path plain = dir.resolve(name), gz = dir.resolve(name + ".gz");
        if (Files.isRegularFile(gz)) return gz;
        if (Files.isRegularFile(plain)) return plain;
        throw new NoSuchFileException(plain.toString(), null, "MNIST file missing: looked for " + plain + " and " + gz);
    }

    /**
     * Reads an image file and its label file into a dataset, pixels scaled to [0, 1].
     *
     * @param images idx image file (magic 2051), plain or gzip
     * @param labels idx label file (magic 2049) with the same count
     * @return x (N, 1, rows, cols), y N labels
     */
    public static Dataset read(Path images, Path labels) throws IOException {
        return read(images, labels, ALL, true);
    }

    /**
     * Reads the first {@code max} images and labels into a dataset.
     *
     * @param images idx image file (magic 2051), plain or gzip
     * @param labels idx label file (magic 2049) whose count equals the image count
     * @param max    examples to read at most ({@link #ALL} for all)
     * @param scale  true: pixels / 255 in [0, 1]; false: raw values 0..255
     * @return x (min(N, max), 1, rows, cols), y the labels
     */
    public static Dataset read(Path images, Path labels, int max, boolean scale) throws IOException {
        if (max < 0) throw new IllegalArgumentException("max must be >= 0, got " + max);
        try (IdxStream im = new IdxStream(images); IdxStream lb = new IdxStream(labels)) {
            int[] ih = im.header(IMAGES_MAGIC, 3);
            int[] lh = lb.header(LABELS_MAGIC, 1);
            if (ih[0] != lh[0]) {
                throw new DataFileException(labels.toString(), null, 4, "holds " + lh[0] + " labels but the image file "
                        + images + " holds " + ih[0] + " images: the counts must match");
            }
            int n = Math.min(ih[0], max);
            int[] y = readLabels(lb, n);
            lb.finish();
            Tensor x = readImages(im, n, ih[1], ih[2], scale);
            try {
                im.finish();
            } catch (IOException | RuntimeException e) {
                x.close();
                throw e;
            }
            return new Dataset(x, y);
        }
    }

    /**
     * Reads the first {@code max} images of an idx image file.
     *
     * @param file  idx image file (magic 2051), plain or gzip
     * @param max   images to read at most ({@link #ALL} for all)
     * @param scale true: pixels / 255 in [0, 1]; false: raw values 0..255
     * @return (min(N, max), 1, rows, cols)
     */
    public static Tensor readImages(Path file, int max, boolean scale) throws IOException {
        if (max < 0) throw new IllegalArgumentException("max must be >= 0, got " + max);
        try (IdxStream in = new IdxStream(file)) {
            int[] h = in.header(IMAGES_MAGIC, 3);
            Tensor x = readImages(in, Math.min(h[0], max), h[1], h[2], scale);
            try {
                in.finish();
            } catch (IOException | RuntimeException e) {
                x.close();
                throw e;
            }
            return x;
        }
    }

    /**
     * Reads the first {@code max} labels of an idx label file.
     *
     * @param file idx label file (magic 2049), plain or gzip
     * @param max  labels to read at most ({@link #ALL} for all)
     * @return min(N, max) labels, each 0..9
     */
    public static int[] readLabels(Path file, int max) throws IOException {
        if (max < 0) throw new IllegalArgumentException("max must be >= 0, got " + max);
        try (IdxStream in = new IdxStream(file)) {
            int[] h = in.header(LABELS_MAGIC, 1);
            int[] y = readLabels(in, Math.min(h[0], max));
            in.finish();
            return y;
        }
    }

    private static Tensor readImages(IdxStream in, int n, int rows, int cols, boolean scale) throws IOException {
        int pixels = Math.multiplyExact(rows, cols);
        Tensor x = Tensor.zeros(n, 1, rows, cols);
        try {
            MemorySegment seg = x.segment();
            byte[] b = new byte[pixels];
            float[] row = new float[pixels];
            float s = scale ? 1f / 255f : 1f;
            for (int i = 0; i < n; i++) {
                in.readFully(b, "image " + i);
                for (int p = 0; p < pixels; p++) row[p] = (b[p] & 0xFF) * s;
                MemorySegment.copy(row, 0, seg, F, (long) i * pixels * Float.BYTES, pixels);
            }
            return x;
        } catch (IOException | RuntimeException | Error e) {
            x.close();
            throw e;
        }
    }

    private static int[] readLabels(IdxStream in, int n) throws IOException {
        byte[] b = new byte[n];
        long start = in.position;
        in.readFully(b, "the labels");
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = b[i] & 0xFF;
            if (y[i] >= NUM_CLASSES) {
                throw new DataFileException(in.name, null, start + i, "label " + y[i] + " of example " + i
                        + " is not a digit 0.." + (NUM_CLASSES - 1));
            }
        }
        return y;
    }

    /** An idx file opened for reading, gzip or plain, that knows its (decompressed) position. */
    private static final class IdxStream implements AutoCloseable {
        final String name;
        final boolean gzip;
        final InputStream in;
        /** Bytes of the file on disk. */
        final long fileSize;
        long position;
        long declared = -1;

        IdxStream(Path file) throws IOException {
            if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "idx file not found");
            this.name = file.toString();
            this.fileSize = Files.size(file);
            InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
            try {
                raw.mark(2);
                int b0 = raw.read(), b1 = raw.read();
                raw.reset();
                gzip = b0 == 0x1f && b1 == 0x8b;
                in = gzip ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16) : raw;
            } catch (IOException e) {
                raw.close();
                throw new DataFileException(name, null, 0, "cannot open as gzip: " + Cifar10.describe(e), e);
            }
        }

        /** Reads and checks the header; returns the dimensions (count first). */
        int[] header(int magic, int dims) throws IOException {
            byte[] h = new byte[4 * (1 + dims)];
            byte[] m = new byte[4];
            readFully(m, "the magic number");
            int found = readInt(m, 0);
            if (found != magic) {
                throw new DataFileException(name, null, 0, "wrong magic number: expected " + magic + " (" + kind(magic)
                        + ") but found " + found + (found == IMAGES_MAGIC || found == LABELS_MAGIC ? " (" + kind(found)
                        + ": are the image and label files swapped?)" : " (not an MNIST idx file"
                        + (gzip ? ")" : ", and not gzip-compressed)")));
            }
            System.arraycopy(m, 0, h, 0, 4);
            byte[] rest = new byte[4 * dims];
            readFully(rest, "the header");
            System.arraycopy(rest, 0, h, 4, rest.length);
            int[] d = new int[dims];
            long total = 1;
            for (int i = 0; i < dims; i++) {
                d[i] = readInt(h, 4 + 4 * i);
                if (d[i] < 0) throw new DataFileException(name, null, 4 + 4L * i, "negative dimension " + d[i] + " in the header");
                // saturating product: never overflows (a zero dimension still makes it 0)
                total = d[i] == 0 ? 0 : total > MAX_DECLARED / d[i] ? MAX_DECLARED + 1 : total * d[i];
            }
            String dimsText = java.util.Arrays.toString(d).replace(", ", " x ").replaceAll("[\\[\\]]", "");
            // a deflate stream expands at most about 1032:1, so this bounds what the file can hold
            long canHold = gzip ? fileSize * 1032 + 1024 : fileSize;
            if (total > MAX_DECLARED || h.length + total > canHold) {
                throw new DataFileException(name, null, 4, "the header declares " + dimsText + " (" + (total > MAX_DECLARED
                        ? "more than " + MAX_DECLARED : String.valueOf(h.length + total)) + " bytes) but the file has only "
                        + fileSize + " bytes" + (gzip ? " of gzip data (at most " + canHold + " bytes decompressed)" : "")
                        + ". The file is truncated or its header is wrong.");
            }
            if (dims == 3 && (long) d[1] * d[2] > Integer.MAX_VALUE - 8) {
                throw new DataFileException(name, null, 8, "images of " + d[1] + " x " + d[2] + " pixels are too large");
            }
            declared = h.length + total;
            return d;
        }

        /**
         * Reads the rest of the stream to its end, so that gzip's CRC and length trailer are
         * checked, and checks that the data is exactly as long as the header declares (no
         * missing or extra bytes). Call after the records wanted were read.
         */
        void finish() throws IOException {
            long rest;
            try {
                rest = in.transferTo(OutputStream.nullOutputStream());
            } catch (IOException e) {
                throw new DataFileException(name, null, position, "read failed after the records used: " + Cifar10.describe(e)
                        + ". The file is truncated or corrupt.", e);
            }
            long total = position + rest;
            if (total < declared) {
                throw new DataFileException(name, null, total, "data ends but the header promises " + declared + " bytes"
                        + (gzip ? " (offset in the decompressed data)" : "") + ". The file is truncated.");
            }
            if (total > declared) {
                throw new DataFileException(name, null, declared, (total - declared) + " bytes follow the " + declared
                        + " bytes the header declares" + (gzip ? " (offset in the decompressed data)" : "")
                        + ". The file is corrupt or not an idx file of this shape.");
            }
        }

        void readFully(byte[] b, String what) throws IOException {
            int off = 0;
            while (off < b.length) {
                int r;
                try {
                    r = in.read(b, off, b.length - off);
                } catch (IOException e) {
                    throw new DataFileException(name, null, position + off, "read failed in " + what + ": " + Cifar10.describe(e)
                            + ". The file is truncated or corrupt.", e);
                }
                if (r < 0) {
                    throw new DataFileException(name, null, position + off, "data ends in " + what
                            + (declared >= 0 ? " but the header promises " + declared + " bytes" : "")
                            + (gzip ? " (offset in the decompressed data)" : "") + ". The file is truncated.");
                }
                off += r;
            }
            position += b.length;
        }

        private static int readInt(byte[] b, int o) {
            return (b[o] & 0xFF) << 24 | (b[o + 1] & 0xFF) << 16 | (b[o + 2] & 0xFF) << 8 | (b[o + 3] & 0xFF);
        }

        private static String kind(int magic) {
            return magic == IMAGES_MAGIC ? "idx images" : magic == LABELS_MAGIC ? "idx labels" : "?";
        }

        @Override
        public void close() throws IOException { in.close(); }
    }
}
