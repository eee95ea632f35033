package dev.panamann.data;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Per-feature preprocessing fitted on the training set and applied, in place, to every split,
 * as in cs231n: mean-image subtraction and standardization (zero mean, unit variance per
 * feature). Statistics are accumulated in double precision. For PCA and whitening see
 * {@link Pca}.
 *
 * <p>Shapes: x is (N, ...) with D = the product of the trailing dimensions; means and standard
 * deviations have the example shape (...).
 */
public final class Preprocess {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Preprocess() {}

    /**
     * The mean example (the "mean image").
     *
     * @param x (N, ...) with N >= 1
     * @return a new tensor of the example shape (...)
     */
    public static Tensor mean(Tensor x) {
        double[] m = columnMeans(x);
        return Tensor.of(toFloat(m), exampleShape(x));
    }

    /**
     * Per-feature standard deviation sqrt(mean((x - mean)^2) + eps) (the population form, as
     * numpy's {@code std}).
     *
     * @param x   (N, ...)
     * @param eps added to the variance, so that constant features do not divide by zero
     * @return a new tensor of the example shape (...)
     */
    public static Tensor std(Tensor x, float eps) {
        double[] m = columnMeans(x);
        return Tensor.of(toFloat(stds(x, m, eps)), exampleShape(x));
    }

    /**
     * Subtracts {@code mean} from every example of {@code x}, in place.
     *
     * @param x    (N, ...)
     * @param mean (...), the example shape of x
     */
    public static void subtract(Tensor x, Tensor mean) {
        checkFeature(x, mean, "mean");
        float[] m = mean.toArray();
        forEachRow(x, row -> {
            for (int j = 0; j < row.length; j++) row[j] -= m[j];
        });
    }

    /**
     * cs231n's mean-image step: computes the mean example of {@code train} and subtracts it
     * from {@code train} and each of {@code others} (validation, test), in place.
     *
     * @param train  x (N, ...): the statistics come from here only
     * @param others datasets with the same example shape
     * @return the mean image (...), a new tensor the caller closes (keep it to preprocess new data)
     */
    public static Tensor subtractMeanImage(Dataset train, Dataset... others) {
        Tensor mean = mean(train.x());
        try {
            for (Dataset d : others) checkFeature(d.x(), mean, "mean image");
            subtract(train.x(), mean);
            for (Dataset d : others) subtract(d.x(), mean);
            return mean;
        } catch (RuntimeException e) {
            mean.close();
            throw e;
        }
    }

    /**
     * Fitted per-feature standardization: {@code x' = (x - mean) / std}.
     *
     * @param mean (...) per-feature means of the training set
     * @param std  (...) per-feature sqrt(variance + eps) of the training set
     */
    public record Standardizer(Tensor mean, Tensor std) implements AutoCloseable {
        public Standardizer {
            if (!mean.sameShape(std)) {
                throw new IllegalArgumentException("standardizer: mean " + mean.shapeString() + " and std "
                        + std.shapeString() + " must have the same shape");
            }
        }

        /**
         * Fits mean and std on {@code x}.
         *
         * @param x   (N, ...) training examples
         * @param eps added to the variance (e.g. 1e-8)
         */
        public static Standardizer fit(Tensor x, float eps) {
            double[] m = columnMeans(x);
            double[] s = stds(x, m, eps);
            int[] shape = exampleShape(x);
            return new Standardizer(Tensor.of(toFloat(m), shape), Tensor.of(toFloat(s), shape));
        }

        /**
         * Standardizes {@code x} in place.
         *
         * @param x (N, ...) with the example shape of {@link #mean()}
         */
        public void apply(Tensor x) {
            checkFeature(x, mean, "standardizer");
            float[] m = mean.toArray();
            float[] inv = std.toArray();
            for (int j = 0; j < inv.length; j++) inv[j] = 1f / inv[j];
            forEachRow(x, row -> {
                for (int j = 0; j < row.length; j++) row[j] = (row[j] - m[j]) * inv[j];
            });
        }

        @Override
        public void close() {
            mean.close();
            std.close();
        }
    }

    /**
     * Fits a {@link Standardizer} on {@code train} (eps 1e-8) and applies it to {@code train}
     * and each of {@code others}, in place.
     *
     * @param train  x (N, ...): the statistics come from here only
     * @param others datasets with the same example shape
     * @return the fitted standardizer (the caller closes it)
     */
    public static Standardizer standardize(Dataset train, Dataset... others) {
        Standardizer s = Standardizer.fit(train.x(), 1e-8f);
        try {
            for (Dataset d : others) checkFeature(d.x(), s.mean(), "standardizer");
            s.apply(train.x());
            for (Dataset d : others) s.apply(d.x());
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /**
     * Per-channel normalization of images: {@code x'[n, c, h, w] = (x[n, c, h, w] - mean[c]) / std[c]}
     * with one mean and standard deviation per channel over all training pixels (the
     * normalization of the modern CIFAR-10 recipes; the cs231n nets use the mean image,
     * {@link #subtractMeanImage}).
     *
     * @param mean per-channel means of the training set
     * @param std  per-channel sqrt(variance + eps) of the training set, each &gt; 0
     */
    public record ChannelNormalizer(float[] mean, float[] std) {
        public ChannelNormalizer {
            if (mean.length != std.length || mean.length == 0) {
                throw new IllegalArgumentException("channel normalizer: " + mean.length + " means and " + std.length + " stds");
            }
            for (int c = 0; c < std.length; c++) {
                if (!(std[c] > 0) || !Float.isFinite(std[c]) || !Float.isFinite(mean[c])) {
                    throw new IllegalArgumentException("channel normalizer: channel " + c + " has mean " + mean[c] + " and std " + std[c]);
                }
            }
            mean = mean.clone();
            std = std.clone();
        }

        /**
         * Fits the per-channel statistics of images (population variance, in double).
         *
         * @param x   (N, C, H, W) training images, N &gt;= 1
         * @param eps added to each variance
         */
        public static ChannelNormalizer fit(Tensor x, float eps) {
            checkImages(x);
            int n = x.dim(0), c = x.dim(1), plane = x.dim(2) * x.dim(3);
            double[] sum = new double[c], sq = new double[c];
            forEachRowRead(x, row -> {
                for (int ch = 0; ch < c; ch++) {
                    double s = 0, q = 0;
                    for (int i = ch * plane, end = i + plane; i < end; i++) {
                        s += row[i];
                        q += (double) row[i] * row[i];
                    }
                    sum[ch] += s;
                    sq[ch] += q;
                }
            });
            float[] mean = new float[c], std = new float[c];
            double count = (double) n * plane;
            for (int ch = 0; ch < c; ch++) {
                double m = sum[ch] / count;
                mean[ch] = (float) m;
                std[ch] = (float) Math.sqrt(Math.max(0, sq[ch] / count - m * m) + eps);
            }
            return new ChannelNormalizer(mean, std);
        }

        /** The mean of channel {@code c}. */
        public float mean(int c) { return mean[c]; }

        /** The standard deviation of channel {@code c}. */
        public float std(int c) { return std[c]; }

        @Override
        public float[] mean() { return mean.clone(); }

        @Override
        public float[] std() { return std.clone(); }

        /**
         * Normalizes images in place.
         *
         * @param x (N, C, H, W) with C = the number of channels fitted
         */
        public void apply(Tensor x) {
            checkImages(x);
            if (x.dim(1) != mean.length) {
                throw new IllegalArgumentException("channel normalizer fitted on " + mean.length + " channels but the images "
                        + x.shapeString() + " have " + x.dim(1));
            }
            int c = mean.length, plane = x.dim(2) * x.dim(3);
            forEachRow(x, row -> {
                for (int ch = 0; ch < c; ch++) {
                    float m = mean[ch], inv = 1f / std[ch];
                    for (int i = ch * plane, end = i + plane; i < end; i++) row[i] = (row[i] - m) * inv;
                }
            });
        }

        private static void checkImages(Tensor x) {
            x.checkOpen();
            if (x.rank() != 4 || x.dim(0) < 1) {
                throw new IllegalArgumentException("per-channel normalization needs images (N, C, H, W) with N >= 1, got " + x.shapeString());
            }
        }
    }

    /**
     * Fits a {@link ChannelNormalizer} on {@code train} (eps 1e-8) and applies it to
     * {@code train} and each of {@code others}, in place.
     *
     * @param train  images (N, C, H, W): the statistics come from here only
     * @param others datasets with the same number of channels
     * @return the fitted normalizer (keep it to normalize new data)
     */
    public static ChannelNormalizer normalizeChannels(Dataset train, Dataset... others) {
        ChannelNormalizer cn = ChannelNormalizer.fit(train.x(), 1e-8f);
        for (Dataset d : others) {
            if (d.x().rank() != 4 || d.x().dim(1) != train.x().dim(1)) {
                throw new IllegalArgumentException("per-channel normalization: images " + d.x().shapeString()
                        + " do not have the training set's " + train.x().dim(1) + " channels");
            }
        }
        cn.apply(train.x());
        for (Dataset d : others) cn.apply(d.x());
        return cn;
    }

    // ------------------------------------------------------------------ helpers

    /** Number of features D of x (N, ...). */
    static int features(Tensor x) {
        if (x.rank() < 1) throw new IllegalArgumentException("expected examples of shape (N, ...), got " + x.shapeString());
        long d = 1;
        for (int i = 1; i < x.rank(); i++) d *= x.dim(i);
        return Math.toIntExact(d);
    }

    static int[] exampleShape(Tensor x) {
        int[] s = x.shape();
        return Arrays.copyOfRange(s, 1, s.length);
    }

    static double[] columnMeans(Tensor x) {
        int n = x.dim(0);
        if (n == 0) throw new IllegalArgumentException("cannot fit statistics on an empty set " + x.shapeString());
        double[] sum = new double[features(x)];
        forEachRowRead(x, row -> {
            for (int j = 0; j < row.length; j++) sum[j] += row[j];
        });
        for (int j = 0; j < sum.length; j++) sum[j] /= n;
        return sum;
    }

    private static double[] stds(Tensor x, double[] mean, float eps) {
        double[] ss = new double[mean.length];
        forEachRowRead(x, row -> {
            for (int j = 0; j < row.length; j++) {
                double d = row[j] - mean[j];
                ss[j] += d * d;
            }
        });
        int n = x.dim(0);
        for (int j = 0; j < ss.length; j++) ss[j] = Math.sqrt(ss[j] / n + eps);
        return ss;
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    private static void checkFeature(Tensor x, Tensor feature, String what) {
        x.checkOpen();
        feature.checkOpen();
        int[] ex = exampleShape(x);
        if (!Arrays.equals(ex, feature.shape()) && !(feature.size() == features(x) && feature.rank() == 1)) {
            throw new IllegalArgumentException(what + ": examples of shape " + Arrays.toString(ex) + " (x "
                    + x.shapeString() + ") do not match the fitted shape " + feature.shapeString());
        }
    }

    interface RowFn { void apply(float[] row); }

    /** Calls {@code f} on a copy of each row, then writes the row back. */
    static void forEachRow(Tensor x, RowFn f) {
        int n = x.dim(0), d = features(x);
        MemorySegment seg = x.segment();
        float[] row = new float[d];
        for (int i = 0; i < n; i++) {
            long off = (long) i * d * Float.BYTES;
            MemorySegment.copy(seg, F, off, row, 0, d);
            f.apply(row);
            MemorySegment.copy(row, 0, seg, F, off, d);
        }
    }

    /** Calls {@code f} on a copy of each row (read only). */
    static void forEachRowRead(Tensor x, RowFn f) {
        int n = x.dim(0), d = features(x);
        MemorySegment seg = x.segment();
        float[] row = new float[d];
        for (int i = 0; i < n; i++) {
            MemorySegment.copy(seg, F, (long) i * d * Float.BYTES, row, 0, d);
            f.apply(row);
        }
    }
}
