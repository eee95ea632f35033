package dev.panamann.data;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Examples and their labels: {@code x} is (N, ...) float32, {@code y} holds N class indices.
 * Closing the dataset closes {@code x}.
 */
public record Dataset(Tensor x, int[] y) implements AutoCloseable {
    public Dataset {
        if (x.rank() < 1 || x.dim(0) != y.length) {
            throw new IllegalArgumentException("dataset: x has shape " + x.shapeString() + " but there are "
                    + y.length + " labels");
        }
        for (int i = 0; i < y.length; i++) {
            if (y[i] < 0) throw new IllegalArgumentException("dataset: label " + i + " is " + y[i] + "; class indices are >= 0");
        }
    }

    /** Number of examples. */
    public int size() { return y.length; }

    /** Shape of one example, e.g. [3, 32, 32]. */
    public int[] exampleShape() {
        int[] s = x.shape();
        return Arrays.copyOfRange(s, 1, s.length);
    }

    /** The first {@code n} examples as a view (x is not copied; y is). */
    public Dataset head(int n) {
        return new Dataset(x.slice(0, n), Arrays.copyOf(y, n));
    }

    /** Examples [from, to) as a view. */
    public Dataset range(int from, int to) {
        return new Dataset(x.slice(from, to), Arrays.copyOfRange(y, from, to));
    }

    /**
     * The examples at {@code indices}, in that order, as a new dataset that owns a copy of
     * them (close it).
     *
     * @param indices row numbers, each in [0, N); repeats allowed
     * @return x (indices.length, ...), y the matching labels
     */
    public Dataset select(int[] indices) {
        int[] shape = x.shape();
        shape[0] = indices.length;
        long row = (long) Preprocess.features(x) * Float.BYTES;
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < 0 || indices[i] >= y.length) {
                throw new IndexOutOfBoundsException("select: index " + indices[i] + " (position " + i
                        + ") is outside the dataset of " + y.length + " examples");
            }
        }
        Tensor out = Tensor.zeros(shape);
        MemorySegment src = x.segment(), dst = out.segment();
        int[] labels = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            MemorySegment.copy(src, indices[i] * row, dst, i * row, row);
            labels[i] = y[indices[i]];
        }
        return new Dataset(out, labels);
    }

    /**
     * The examples as rows of a matrix, a view (x is not copied; y is shared).
     *
     * @return x (N, D) with D the product of the example shape
     */
    public Dataset flatten() {
        return new Dataset(x.reshape(y.length, Preprocess.features(x)), y);
    }

    /** Largest label + 1. */
    public int numClasses() {
        int m = -1;
        for (int v : y) m = Math.max(m, v);
        return m + 1;
    }

    @Override
    public void close() { x.close(); }
}
