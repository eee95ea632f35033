package dev.panamann.data;

import dev.panamann.tensor.Tensor;
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

    /** Largest label + 1. */
    public int numClasses() {
        int m = -1;
        for (int v : y) m = Math.max(m, v);
        return m + 1;
    }

    @Override
    public void close() { x.close(); }
}
