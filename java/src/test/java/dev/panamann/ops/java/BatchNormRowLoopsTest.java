package dev.panamann.ops.java;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.panamann.ops.BatchNormOp;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The (N, C) row path of {@link JavaBatchNormOp#rows} (row loops over heap-array copies of the
 * rows) against plain loops over the values with the same float arithmetic, bit for bit:
 * channel counts below, at and above a vector's width, a large mean, and values near zero.
 */
class BatchNormRowLoopsTest {

    @Test
    void rowLoopsMatchPlainLoopsToTheBit() {
        Rng rng = new Rng(5);
        for (int c : new int[] {1, 5, 16, 17, 100, 203}) {
            int n = 3 + c % 7;
            float eps = 1e-5f, momentum = 0.9f;
            float[] x = randn(rng, n * c, 1000f, 3f), dout = randn(rng, n * c, 0f, 1e-3f);
            float[] gamma = randn(rng, c, 1f, 0.5f), beta = randn(rng, c, 0f, 1f);
            for (int i = 0; i < n * c; i += 7) x[i] = Float.MIN_NORMAL * i; // some values near zero
            BatchNormOp op = JavaBatchNormOp.rows(n, c, eps);
            try (Tensor xt = Tensor.of(x, n, c); Tensor g = Tensor.of(gamma, c); Tensor b = Tensor.of(beta, c);
                 Tensor out = Tensor.zeros(n, c); Tensor rm = Tensor.zeros(c); Tensor rv = Tensor.full(1f, c);
                 Tensor d = Tensor.of(dout, n, c); Tensor dx = Tensor.zeros(n, c); Tensor dg = Tensor.zeros(c); Tensor db = Tensor.zeros(c)) {
                op.forward(xt, g, b, out, rm, rv, momentum, true);
                op.backward(xt, g, d, dx, dg, db);
                float[][] ref = reference(x, dout, gamma, beta, n, c, eps);
                String at = "n " + n + ", c " + c + ": ";
                assertTrue(Arrays.equals(ref[0], out.toArray()), at + "out differs at " + Arrays.mismatch(ref[0], out.toArray()));
                assertTrue(Arrays.equals(ref[1], dx.toArray()), at + "dx differs at " + Arrays.mismatch(ref[1], dx.toArray()));
                assertTrue(Arrays.equals(ref[2], dg.toArray()), at + "dgamma differs at " + Arrays.mismatch(ref[2], dg.toArray()));
                assertTrue(Arrays.equals(ref[3], db.toArray()), at + "dbeta differs at " + Arrays.mismatch(ref[3], db.toArray()));
            } finally {
                op.close();
            }
        }
    }

    /** out, dx, dgamma, dbeta of a training forward and its backward, computed element by element. */
    private static float[][] reference(float[] x, float[] dout, float[] gamma, float[] beta, int n, int c, float eps) {
        double m = n;
        float[] s1 = new float[c], s2 = new float[c], mu = new float[c];
        double[] mean = new double[c], invStd = new double[c];
        for (int i = 0; i < n; i++) for (int ch = 0; ch < c; ch++) s1[ch] += x[i * c + ch];
        for (int ch = 0; ch < c; ch++) {
            mean[ch] = s1[ch] / m;
            mu[ch] = (float) mean[ch];
        }
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                float d = x[i * c + ch] - mu[ch];
                s2[ch] += d * d;
            }
        }
        for (int ch = 0; ch < c; ch++) invStd[ch] = 1.0 / Math.sqrt(s2[ch] / m + eps);
        float[] out = new float[n * c];
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                float scale = (float) (gamma[ch] * invStd[ch]);
                out[i * c + ch] = (x[i * c + ch] - mu[ch]) * scale + beta[ch];
            }
        }
        float[] sd = new float[c], sdx = new float[c], is = new float[c], k = new float[c];
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                float d = dout[i * c + ch];
                sd[ch] += d;
                sdx[ch] += d * (x[i * c + ch] - mu[ch]);
            }
        }
        float mf = (float) m;
        for (int ch = 0; ch < c; ch++) {
            is[ch] = (float) invStd[ch];
            sdx[ch] *= is[ch];
            k[ch] = (float) (gamma[ch] * invStd[ch] / m);
        }
        float[] dx = new float[n * c];
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                float xhat = (x[i * c + ch] - mu[ch]) * is[ch];
                dx[i * c + ch] = k[ch] * (mf * dout[i * c + ch] - sd[ch] - xhat * sdx[ch]);
            }
        }
        return new float[][] {out, dx, sdx, sd};
    }

    private static float[] randn(Rng rng, int count, float mean, float std) {
        float[] a = new float[count];
        for (int i = 0; i < count; i++) a[i] = mean + std * (float) rng.nextGaussian();
        return a;
    }
}
