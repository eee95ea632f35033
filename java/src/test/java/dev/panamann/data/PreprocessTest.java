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
