package dev.panamann.ops.java;

import dev.panamann.ops.BatchNormOp;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Pure-Java batch normalization over (N, C, S) data. Per channel, with M = N * S values:
 * <pre>
 *   mean = sum(x) / M,  var = sum((x - mean)^2) / M          (biased, as cs231n)
 *   xhat = (x - mean) / sqrt(var + eps),  out = gamma * xhat + beta
 * </pre>
 * and the compact backward form (cs231n's {@code batchnorm_backward_alt}):
 * <pre>
 *   dbeta = sum(dout),  dgamma = sum(dout * xhat)
 *   dx = gamma / sqrt(var + eps) / M * (M * dout - dbeta - xhat * dgamma)
 * </pre>
 * Sums are accumulated in double, except for (N, C) data (S = 1): there the loops run along
 * each row's contiguous channels and sum in float (two passes for the variance). The batch mean and 1/sqrt(var + eps) of the last training forward are kept for
 * backward; xhat is recomputed from x rather than stored.
 */
public final class JavaBatchNormOp implements BatchNormOp {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final JavaOps ops;
    private final int n, c, s;
    private final float eps;
    /** Batch mean, batch (biased) variance and 1/sqrt(var + eps) of the last training forward. */
    private final double[] mean, var, invStd;
    private final double[] acc1, acc2;
    /** Per-channel float scratch of the row-wise (S = 1) loops, and one row of x and of dout. */
    private final float[] rowAcc1, rowAcc2, rowMean, rowK, rowInvStd, rowX, rowD;
    /** The running statistics as used by an eval forward (kept apart from the training ones). */
    private final double[] evalMean, evalInvStd;
    private boolean trained, closed;

    /**
     * Batch normalization of (N, C) data on the calling thread, for any backend: the native
     * backend's op for S = 1, which took less time than oneDNN 2.6's batch norm on such rows
     * (docs/benchmarks.md).
     *
     * @throws IllegalArgumentException for sizes {@link BatchNormOp#checkSizes} rejects
     */
    public static BatchNormOp rows(int n, int c, float eps) { return new JavaBatchNormOp(null, n, c, 1, eps); }

    JavaBatchNormOp(JavaOps ops, int n, int c, int s, float eps) {
        BatchNormOp.checkSizes(n, c, s, eps);
        this.ops = ops;
        this.n = n;
        this.c = c;
        this.s = s;
        this.eps = eps;
        mean = new double[c];
        var = new double[c];
        invStd = new double[c];
        acc1 = new double[c];
        acc2 = new double[c];
        rowAcc1 = new float[c];
        rowAcc2 = new float[c];
        rowMean = new float[c];
        rowK = new float[c];
        rowInvStd = new float[c];
        rowX = new float[s == 1 ? c : 0];
        rowD = new float[s == 1 ? c : 0];
        evalMean = new double[c];
        evalInvStd = new double[c];
    }

    @Override public int n() { return n; }
    @Override public int c() { return c; }
    @Override public int spatial() { return s; }
    @Override public float eps() { return eps; }

    @Override
    public void forward(Tensor x, Tensor gamma, Tensor beta, Tensor out, Tensor runningMean, Tensor runningVar,
                        float momentum, boolean training) {
        checkForwardShapes(x, gamma, beta, out, runningMean, runningVar);
        checkOpen();
        MemorySegment xs = x.segment(), os = out.segment(), gs = gamma.segment(), bs = beta.segment();
        MemorySegment rm = runningMean.segment(), rv = runningVar.segment();
        long cs = (long) c * s;
        if (training) {
            BatchNormOp.checkTrainable(n, c, s);
            double m = (double) n * s;
            if (s == 1) statisticsRows(xs, m);
            else ops.parallelFor(JavaOps.shareable(xs), c, 2L * n * s, (from, to) -> {
                java.util.Arrays.fill(acc1, from, to, 0);
                java.util.Arrays.fill(acc2, from, to, 0);
                for (int i = 0; i < n; i++) {
                    for (int ch = from; ch < to; ch++) {
                        long base = i * cs + (long) ch * s;
                        double sum = 0;
                        for (int k = 0; k < s; k++) sum += xs.getAtIndex(F, base + k);
                        acc1[ch] += sum;
                    }
                }
                for (int ch = from; ch < to; ch++) mean[ch] = acc1[ch] / m;
                for (int i = 0; i < n; i++) {
                    for (int ch = from; ch < to; ch++) {
                        long base = i * cs + (long) ch * s;
                        double mu = mean[ch], sq = 0;
                        for (int k = 0; k < s; k++) {
                            double d = xs.getAtIndex(F, base + k) - mu;
                            sq += d * d;
                        }
                        acc2[ch] += sq;
                    }
                }
                for (int ch = from; ch < to; ch++) {
                    var[ch] = acc2[ch] / m;
                    invStd[ch] = 1.0 / Math.sqrt(var[ch] + eps);
                }
            });
            trained = true;
            for (int ch = 0; ch < c; ch++) {
                rm.setAtIndex(F, ch, (float) (momentum * rm.getAtIndex(F, ch) + (1 - momentum) * mean[ch]));
                rv.setAtIndex(F, ch, (float) (momentum * rv.getAtIndex(F, ch) + (1 - momentum) * var[ch]));
            }
            normalize(xs, os, gs, bs, mean, invStd);
        } else {
            for (int ch = 0; ch < c; ch++) {
                evalMean[ch] = rm.getAtIndex(F, ch);
                evalInvStd[ch] = 1.0 / Math.sqrt(rv.getAtIndex(F, ch) + (double) eps);
            }
            normalize(xs, os, gs, bs, evalMean, evalInvStd);
        }
    }

    /**
     * The batch mean and variance of (N, C) data (S = 1), row by row: the loops run along
     * contiguous channels, and each sum takes the rows in order as the general loop does.
     */
    private void statisticsRows(MemorySegment xs, double m) {
        float[] s1 = rowAcc1, s2 = rowAcc2, mu = rowMean;
        java.util.Arrays.fill(s1, 0f);
        java.util.Arrays.fill(s2, 0f);
        sums(xs, s1);
        for (int ch = 0; ch < c; ch++) {
            mean[ch] = s1[ch] / m;
            mu[ch] = (float) mean[ch];
        }
        squaredDeviations(xs, mu, s2);
        for (int ch = 0; ch < c; ch++) {
            var[ch] = s2[ch] / m;
            invStd[ch] = 1.0 / Math.sqrt(var[ch] + eps);
        }
    }

    private void normalize(MemorySegment xs, MemorySegment os, MemorySegment gs, MemorySegment bs,
                           double[] mu, double[] is) {
        long cs = (long) c * s;
        if (s == 1) {
            float[] mf = rowMean, sc = rowAcc1, sh = rowAcc2;
            for (int ch = 0; ch < c; ch++) {
                mf[ch] = (float) mu[ch];
                sc[ch] = (float) (gs.getAtIndex(F, ch) * is[ch]);
                sh[ch] = bs.getAtIndex(F, ch);
            }
            normalizeRows(xs, os, mf, sc, sh);
            return;
        }
        ops.parallelFor(JavaOps.shareable(xs) && JavaOps.shareable(os) && JavaOps.shareable(gs) && JavaOps.shareable(bs),
                c, (long) n * s, (from, to) -> {
            for (int i = 0; i < n; i++) {
                for (int ch = from; ch < to; ch++) {
                    long base = i * cs + (long) ch * s;
                    // (x - mean) first: x * scale + shift would cancel badly when |mean| >> std
                    double m = mu[ch], scale = gs.getAtIndex(F, ch) * is[ch], shift = bs.getAtIndex(F, ch);
                    for (int k = 0; k < s; k++) {
                        os.setAtIndex(F, base + k, (float) ((xs.getAtIndex(F, base + k) - m) * scale + shift));
                    }
                }
            }
        });
    }

    @Override
    public void backward(Tensor x, Tensor gamma, Tensor dout, Tensor dx, Tensor dgamma, Tensor dbeta) {
        BatchNormOp.checkData(x, "batchnorm backward x", n, c, s);
        BatchNormOp.checkData(dout, "batchnorm backward dout", n, c, s);
        BatchNormOp.checkData(dx, "batchnorm backward dx", n, c, s);
        gamma.requireShape("batchnorm backward gamma", c);
        dgamma.requireShape("batchnorm backward dgamma", c);
        dbeta.requireShape("batchnorm backward dbeta", c);
        checkOpen();
        if (!trained) throw new IllegalStateException("batchnorm backward called before a training forward");
        MemorySegment xs = x.segment(), ds = dout.segment(), dxs = dx.segment(), gs = gamma.segment();
        MemorySegment dgs = dgamma.segment(), dbs = dbeta.segment();
        long cs = (long) c * s;
        double m = (double) n * s;
        if (s == 1) {
            backwardRows(xs, ds, dxs, gs, dgs, dbs, m);
            return;
        }
        boolean onPool = JavaOps.shareable(xs) && JavaOps.shareable(ds) && JavaOps.shareable(dxs) && JavaOps.shareable(gs)
                && JavaOps.shareable(dgs) && JavaOps.shareable(dbs);
        ops.parallelFor(onPool, c, 3L * n * s, (from, to) -> {
            java.util.Arrays.fill(acc1, from, to, 0);   // sum(dout)
            java.util.Arrays.fill(acc2, from, to, 0);   // sum(dout * xhat)
            for (int i = 0; i < n; i++) {
                for (int ch = from; ch < to; ch++) {
                    long base = i * cs + (long) ch * s;
                    double mu = mean[ch], sd = 0, sdx = 0;
                    for (int k = 0; k < s; k++) {
                        double d = ds.getAtIndex(F, base + k);
                        sd += d;
                        sdx += d * (xs.getAtIndex(F, base + k) - mu);
                    }
                    acc1[ch] += sd;
                    acc2[ch] += sdx;
                }
            }
            for (int ch = from; ch < to; ch++) {
                acc2[ch] *= invStd[ch];
                dbs.setAtIndex(F, ch, (float) acc1[ch]);
                dgs.setAtIndex(F, ch, (float) acc2[ch]);
            }
            for (int i = 0; i < n; i++) {
                for (int ch = from; ch < to; ch++) {
                    long base = i * cs + (long) ch * s;
                    double is = invStd[ch], mu = mean[ch];
                    double k1 = gs.getAtIndex(F, ch) * is / m;
                    double sumD = acc1[ch], sumDx = acc2[ch];
                    for (int k = 0; k < s; k++) {
                        double xhat = (xs.getAtIndex(F, base + k) - mu) * is;
                        dxs.setAtIndex(F, base + k, (float) (k1 * (m * ds.getAtIndex(F, base + k) - sumD - xhat * sumDx)));
                    }
                }
            }
        });
    }

    /** {@link #backward} for (N, C) data (S = 1), row by row as {@link #statisticsRows}. */
    private void backwardRows(MemorySegment xs, MemorySegment ds, MemorySegment dxs, MemorySegment gs,
                              MemorySegment dgs, MemorySegment dbs, double m) {
        float[] sd = rowAcc1, sdx = rowAcc2, mu = rowMean, k = rowK;
        java.util.Arrays.fill(sd, 0f);    // sum(dout)
        java.util.Arrays.fill(sdx, 0f);   // sum(dout * (x - mean))
        for (int ch = 0; ch < c; ch++) mu[ch] = (float) mean[ch];
        gradientSums(xs, ds, mu, sd, sdx);
        float mf = (float) m;
        float[] is = rowInvStd;
        for (int ch = 0; ch < c; ch++) {
            is[ch] = (float) invStd[ch];
            sdx[ch] *= is[ch];
            dbs.setAtIndex(F, ch, sd[ch]);
            dgs.setAtIndex(F, ch, sdx[ch]);
            k[ch] = (float) (gs.getAtIndex(F, ch) * invStd[ch] / m);
        }
        inputGradient(xs, ds, dxs, mf, mu, is, k, sd, sdx);
    }

    // The loops over (N, C) rows: each runs along a row's contiguous channels, one row after
    // another, so every channel's sum takes the rows in order. Each row is copied into a heap
    // array first (and an output row back): C2 vectorizes the loops over arrays, not over memory
    // segments (the same float operations per element, so the same results).

    private void sums(MemorySegment x, float[] s1) {
        float[] r = rowX;
        for (int i = 0; i < n; i++) {
            MemorySegment.copy(x, F, (long) i * c * Float.BYTES, r, 0, c);
            for (int ch = 0; ch < c; ch++) s1[ch] = s1[ch] + r[ch];
        }
    }

    private void squaredDeviations(MemorySegment x, float[] mu, float[] s2) {
        float[] r = rowX;
        for (int i = 0; i < n; i++) {
            MemorySegment.copy(x, F, (long) i * c * Float.BYTES, r, 0, c);
            for (int ch = 0; ch < c; ch++) {
                float d = r[ch] - mu[ch];
                s2[ch] = s2[ch] + d * d;
            }
        }
    }

    private void normalizeRows(MemorySegment x, MemorySegment out, float[] mu, float[] scale, float[] shift) {
        float[] r = rowX;
        for (int i = 0; i < n; i++) {
            long at = (long) i * c * Float.BYTES;
            MemorySegment.copy(x, F, at, r, 0, c);
            for (int ch = 0; ch < c; ch++) r[ch] = (r[ch] - mu[ch]) * scale[ch] + shift[ch];
            MemorySegment.copy(r, 0, out, F, at, c);
        }
    }

    private void gradientSums(MemorySegment x, MemorySegment dout, float[] mu, float[] sd, float[] sdx) {
        float[] r = rowX, g = rowD;
        for (int i = 0; i < n; i++) {
            long at = (long) i * c * Float.BYTES;
            MemorySegment.copy(x, F, at, r, 0, c);
            MemorySegment.copy(dout, F, at, g, 0, c);
            for (int ch = 0; ch < c; ch++) {
                float d = g[ch];
                sd[ch] = sd[ch] + d;
                sdx[ch] = sdx[ch] + d * (r[ch] - mu[ch]);
            }
        }
    }

    private void inputGradient(MemorySegment x, MemorySegment dout, MemorySegment dx, float m, float[] mu,
                               float[] invStd, float[] k, float[] sd, float[] sdx) {
        float[] r = rowX, g = rowD;
        for (int i = 0; i < n; i++) {
            long at = (long) i * c * Float.BYTES;
            MemorySegment.copy(x, F, at, r, 0, c);
            MemorySegment.copy(dout, F, at, g, 0, c);
            for (int ch = 0; ch < c; ch++) {
                float xhat = (r[ch] - mu[ch]) * invStd[ch];
                g[ch] = k[ch] * (m * g[ch] - sd[ch] - xhat * sdx[ch]);
            }
            MemorySegment.copy(g, 0, dx, F, at, c);
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("batchnorm plan (" + n + ", " + c + ", " + s + ") is closed");
    }

    @Override
    public void close() { closed = true; }

    @Override
    public String toString() { return "JavaBatchNormOp(" + n + ", " + c + ", " + s + ", eps=" + eps + ")"; }
}
