package dev.panamann.spark;

import dev.panamann.data.Dataset;
import java.io.Serializable;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * One training example as an RDD element: the input values in row-major order (for images
 * C x H x W, the model's example shape) and the class label.
 *
 * @param x     the input, as many values as the example shape holds
 * @param label the class, in [0, numClasses)
 */
public record Example(float[] x, int label) implements Serializable {
    public Example {
        if (x == null) throw new IllegalArgumentException("example input is null");
    }

    /**
     * The examples of a dataset, in order (for {@code sc.parallelize}).
     *
     * @param data examples x (N, ...) and N labels
     */
    public static List<Example> of(Dataset data) {
        int n = data.size();
        int d = n == 0 ? 0 : (int) (data.x().size() / n);
        List<Example> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            float[] x = new float[d];
            java.lang.foreign.MemorySegment.copy(data.x().segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, (long) i * d * Float.BYTES, x, 0, d);
            out.add(new Example(x, data.y()[i]));
        }
        return out;
    }
}
