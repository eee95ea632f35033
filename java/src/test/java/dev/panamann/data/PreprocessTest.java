package dev.panamann.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import org.junit.jupiter.api.Test;

class PreprocessTest {

    /** (n, 2, 3, 2) data whose features have different means and scales. */
    static Dataset data(int n, long seed) {
        Rng rng = new Rng(seed);
        Tensor x = Tensor.zeros(n, 2, 3, 2);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < 12; j++) x.setFlat(i * 12L + j, (float) (50 + 10 * j + (1 + j) * rng.nextGaussian()));
        }
        return new Dataset(x, new int[n]);
    }

    static double[] colMeans(Tensor x) {
        int n = x.dim(0), d = (int) (x.size() / n);
        double[] m = new double[d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) m[j] += x.getFlat((long) i * d + j);
        for (int j = 0; j < d; j++) m[j] /= n;
        return m;
    }

    static double[] colStds(Tensor x) {
        int n = x.dim(0), d = (int) (x.size() / n);
        double[] m = colMeans(x), s = new double[d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                double v = x.getFlat((long) i * d + j) - m[j];
                s[j] += v * v;
            }
        }
        for (int j = 0; j < d; j++) s[j] = Math.sqrt(s[j] / n);
        return s;
    }

    /** Per-channel statistics over all pixels of the training images, applied to every split. */
    @Test
    void channelNormalizationUsesTrainingStatisticsPerChannel() {
        // 2 images, 2 channels, 1 x 2 pixels: channel 0 holds 1, 3, 5, 7; channel 1 holds 10 everywhere but one 14
        float[] tr = {1, 3, 10, 10, 5, 7, 10, 14};
        try (Dataset train = new Dataset(Tensor.of(tr, 2, 2, 1, 2), new int[] {0, 1});
             Dataset other = new Dataset(Tensor.of(new float[] {4, 4, 11, 11}, 1, 2, 1, 2), new int[] {0})) {
            Preprocess.ChannelNormalizer cn = Preprocess.normalizeChannels(train, other);
            assertEquals(4f, cn.mean(0), 1e-6f);
            assertEquals(11f, cn.mean(1), 1e-6f);
            assertEquals((float) Math.sqrt(5), cn.std(0), 1e-5f);
            assertEquals((float) Math.sqrt(3), cn.std(1), 1e-5f);
            float[] x = train.x().toArray();
            assertEquals(-3 / Math.sqrt(5), x[0], 1e-5);
            assertEquals(3 / Math.sqrt(3), x[7], 1e-5);
            assertArrayEquals(new float[] {0, 0, 0, 0}, other.x().toArray(), 1e-6f);
            try (Tensor threeChannels = Tensor.zeros(1, 3, 1, 2); Tensor flat = Tensor.zeros(4, 6)) {
                assertThrows(IllegalArgumentException.class, () -> cn.apply(threeChannels));
                assertThrows(IllegalArgumentException.class, () -> Preprocess.ChannelNormalizer.fit(flat, 1e-8f));
            }
        }
    }

    @Test
    void meanImageSubtractionZeroesTrainColumnMeansAndUsesTrainMeanElsewhere() {
        try (Dataset train = data(200, 1); Dataset val = data(30, 2); Dataset test = data(40, 3)) {
            double[] before = colMeans(train.x());
            float[] valBefore = val.x().toArray();
            try (Tensor mean = Preprocess.subtractMeanImage(train, val, test)) {
                assertArrayEquals(new int[] {2, 3, 2}, mean.shape());
                for (int j = 0; j < 12; j++) assertEquals(before[j], mean.getFlat(j), 1e-3, "mean " + j);
                double[] after = colMeans(train.x());
                for (int j = 0; j < 12; j++) assertEquals(0, after[j], 1e-4, "train column mean " + j);
                float[] v = val.x().toArray();
                for (int i = 0; i < v.length; i++) assertEquals(valBefore[i] - mean.getFlat(i % 12), v[i], 1e-5f);
                // val was shifted by the train mean, not its own: its column means are not zero exactly
                double[] valAfter = colMeans(val.x());
                boolean someNonZero = false;
                for (double m : valAfter) someNonZero |= Math.abs(m) > 1e-3;
                assertTrue(someNonZero);
            }
        }
    }

    @Test
    void standardizationGivesZeroMeanUnitStdWithTrainStatistics() {
        try (Dataset train = data(300, 4); Dataset test = data(50, 5)) {
            double[] mean = colMeans(train.x()), std = colStds(train.x());
            float[] testBefore = test.x().toArray();
            try (Preprocess.Standardizer s = Preprocess.standardize(train, test)) {
                double[] m = colMeans(train.x()), sd = colStds(train.x());
                for (int j = 0; j < 12; j++) {
                    assertEquals(0, m[j], 1e-5, "mean " + j);
                    assertEquals(1, sd[j], 1e-4, "std " + j);
                    assertEquals(std[j], s.std().getFlat(j), 1e-3 * std[j]);
                }
                float[] t = test.x().toArray();
                for (int i = 0; i < t.length; i++) {
                    int j = i % 12;
                    assertEquals((testBefore[i] - mean[j]) / std[j], t[i], 1e-4);
                }
            }
        }
    }

    @Test
    void constantFeatureDoesNotDivideByZero() {
        try (Tensor x = Tensor.full(3f, 10, 2); Preprocess.Standardizer s = Preprocess.Standardizer.fit(x, 1e-8f)) {
            s.apply(x);
            for (float v : x.toArray()) assertEquals(0f, v, 0f);
        }
    }

    @Test
    void shapeMismatchIsReported() {
        try (Dataset a = data(10, 1); Tensor other = Tensor.zeros(5, 7)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Preprocess.subtractMeanImage(a, new Dataset(other, new int[5])));
            assertTrue(e.getMessage().contains("[7]") && e.getMessage().contains("[2, 3, 2]"), e.getMessage());
            assertEquals(50f, a.x().getFlat(0), 10f);   // nothing was changed before the check failed
        }
    }
}
