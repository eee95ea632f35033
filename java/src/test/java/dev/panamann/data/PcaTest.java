package dev.panamann.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.dnnl.NativeLibraries;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PcaTest {
    static final int N = 3000, D = 6;

    @BeforeAll
    static void needsLapack() {
        if (!Boolean.getBoolean("panamann.requireNative")) {
            Assumptions.assumeTrue(NativeLibraries.available(), "OpenBLAS not installed");
        }
    }

    /** x = z A + b: correlated Gaussian data (N, 2, 3) with different variances per direction. */
    static Tensor correlated(long seed) {
        Rng rng = new Rng(seed);
        double[][] a = new double[D][D];
        for (int i = 0; i < D; i++) for (int j = 0; j < D; j++) a[i][j] = rng.nextGaussian() * (i + 1);
        Tensor x = Tensor.zeros(N, 2, 3);
        double[] z = new double[D];
        for (int n = 0; n < N; n++) {
            for (int i = 0; i < D; i++) z[i] = rng.nextGaussian();
            for (int j = 0; j < D; j++) {
                double s = 5 * j - 7;
                for (int i = 0; i < D; i++) s += z[i] * a[i][j];
                x.setFlat((long) n * D + j, (float) s);
            }
        }
        return x;
    }

    /** Covariance in double precision, (d, d), of the rows of x (n, d). */
    static double[][] covariance(Tensor x) {
        int n = x.dim(0), d = (int) (x.size() / n);
        double[] m = new double[d];
        float[] v = x.toArray();
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) m[j] += v[i * d + j];
        for (int j = 0; j < d; j++) m[j] /= n;
        double[][] c = new double[d][d];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < d; p++) {
                for (int q = 0; q < d; q++) c[p][q] += (v[i * d + p] - m[p]) * (v[i * d + q] - m[q]);
            }
        }
        for (int p = 0; p < d; p++) for (int q = 0; q < d; q++) c[p][q] /= n;
        return c;
    }

    @Test
    void componentsAreEigenvectorsOfTheCovarianceOnBothBackends() {
        try (Tensor x = correlated(1)) {
            double[][] c = covariance(x.reshape(N, D));
            for (Ops ops : Backs.all()) {
                try (Pca pca = Pca.fit(x, ops)) {
                    assertEquals(D, pca.dim());
                    float[] lam = pca.variances();
                    float[] u = pca.components().toArray();
                    double scale = lam[0];
                    for (int k = 0; k < D; k++) {
                        if (k > 0) assertTrue(lam[k] <= lam[k - 1], "variances descending");
                        for (int p = 0; p < D; p++) {
                            double cu = 0;
                            for (int q = 0; q < D; q++) cu += c[p][q] * u[k * D + q];
                            assertEquals(lam[k] * u[k * D + p], cu, 1e-4 * scale, ops.name() + ": C u_" + k + " = lambda u");
                        }
                        for (int l = 0; l < D; l++) {
                            double dot = 0;
                            for (int p = 0; p < D; p++) dot += u[k * D + p] * u[l * D + p];
                            assertEquals(k == l ? 1 : 0, dot, 1e-4, "orthonormal " + k + "," + l);
                        }
                    }
                    double trace = 0;
                    for (int p = 0; p < D; p++) trace += c[p][p];
                    assertEquals(1.0, pca.explainedVariance(D), 1e-6);
                    assertEquals(lam[0] / trace, pca.explainedVariance(1), 1e-4);
                }
            }
        }
    }

    @Test
    void whiteningGivesIdentityCovariance() {
        try (Tensor x = correlated(2); Pca pca = Pca.fit(x); Tensor w = pca.whiten(x, D, 1e-6f)) {
            assertArrayEquals(new int[] {N, D}, w.shape());
            double[][] c = covariance(w);
            for (int p = 0; p < D; p++) {
                for (int q = 0; q < D; q++) assertEquals(p == q ? 1 : 0, c[p][q], 2e-3, "cov[" + p + "][" + q + "]");
            }
            double[] mean = new double[D];
            float[] v = w.toArray();
            for (int i = 0; i < N; i++) for (int j = 0; j < D; j++) mean[j] += v[i * D + j] / N;
            for (int j = 0; j < D; j++) assertEquals(0, mean[j], 1e-3, "whitened mean " + j);
        }
    }

    @Test
    void projectionKeepsTheTopVariancesAndAppliesTrainStatisticsToNewData() {
        try (Tensor x = correlated(3); Pca pca = Pca.fit(x); Tensor z = pca.project(x, 2)) {
            assertArrayEquals(new int[] {N, 2}, z.shape());
            double[][] c = covariance(z);
            float[] lam = pca.variances();
            assertEquals(lam[0], c[0][0], 1e-3 * lam[0]);
            assertEquals(lam[1], c[1][1], 1e-3 * lam[0]);
            assertEquals(0, c[0][1], 1e-3 * lam[0]);
            // one new example projected by hand: u_k . (x - mean)
            try (Tensor one = Tensor.zeros(1, 2, 3); Tensor p = pca.project(one, 3)) {
                float[] m = pca.mean();
                float[] u = pca.components().toArray();
                for (int k = 0; k < 3; k++) {
                    double s = 0;
                    for (int j = 0; j < D; j++) s += u[k * D + j] * (0 - m[j]);
                    assertEquals(s, p.getFlat(k), 1e-4 * (1 + Math.abs(s)));
                }
            }
            try (Dataset d = new Dataset(x, new int[N]); Dataset pd = pca.whiten(d, 3, 1e-5f)) {
                assertArrayEquals(new int[] {N, 3}, pd.x().shape());
            }
        }
    }

    @Test
    void badArgumentsAreReported() {
        try (Tensor x = correlated(4); Pca pca = Pca.fit(x); Tensor other = Tensor.zeros(3, 5)) {
            IllegalArgumentException k = assertThrows(IllegalArgumentException.class, () -> pca.project(x, D + 1));
            assertTrue(k.getMessage().contains("1.." + D), k.getMessage());
            IllegalArgumentException s = assertThrows(IllegalArgumentException.class, () -> pca.project(other, 2));
            assertTrue(s.getMessage().contains("[3, 5]") && s.getMessage().contains(D + " features"), s.getMessage());
        }
        try (Tensor nan = Tensor.full(Float.NaN, 4, 3)) {
            assertThrows(IllegalArgumentException.class, () -> Pca.fit(nan));
        }
    }

    @Test
    void workspaceSizeNeverFallsBelowLapacksMinimumWhenTheFloatQueryRoundsDown() {
        int n = 3072; // CIFAR-10's D
        long min = 1 + 6L * n + 2L * n * n; // 18892801, not a float
        float query = (float) min;          // what ssyevd's workspace query can return: 18892800
        assertTrue((long) query < min, "the float query loses the last unit: " + (long) query);
        assertTrue(Pca.workSize(query, n) >= min, "lwork " + Pca.workSize(query, n));
        assertEquals(1 + 6 * 4 + 2 * 16, Pca.workSize(1f, 4), "a too small answer is raised to the minimum");
        assertTrue(Pca.workSize(5000f, 4) >= 5000, "a larger answer is kept");
        assertThrows(IllegalArgumentException.class, () -> Pca.workSize(1f, 40_000), "more than 2^31 floats");
    }
}
