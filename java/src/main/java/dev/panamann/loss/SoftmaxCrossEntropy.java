package dev.panamann.loss;

import dev.panamann.tensor.Buffer;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Softmax cross-entropy (cs231n {@code softmax_loss}):
 * {@code L = -1/N sum_i log(exp(s[i, y_i]) / sum_j exp(s[i, j]))} and
 * {@code dL/ds[i, j] = (softmax(s)[i, j] - 1{j = y_i}) / N}.
 * Numerically stable: the row maximum is subtracted before exponentiating, and sums run in
 * double.
 *
 * <p>Label smoothing {@code eps} (Szegedy et al.; 0 by default) replaces the one-hot target by
 * {@code q[i, j] = (1 - eps) * 1{j = y_i} + eps / C}: the loss becomes
 * {@code -1/N sum_i sum_j q[i, j] log softmax(s)[i, j]} and the gradient
 * {@code (softmax(s)[i, j] - q[i, j]) / N}.
 * <ul>
 *   <li>scores: (N, C)</li>
 *   <li>y: N labels in [0, C)</li>
 *   <li>dscores: (N, C)</li>
 * </ul>
 */
public final class SoftmaxCrossEntropy implements Loss {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Buffer dscores = new Buffer();
    private final double smoothing;
    private boolean ready;
    /** One row's {@code exp(s[i, j] - max)}, computed once and used for the sum and the gradient. */
    private double[] rowExp = new double[0];

    /** Without label smoothing. */
    public SoftmaxCrossEntropy() { this(0); }

    /**
     * @param labelSmoothing the mass {@code eps} spread evenly over all classes, in [0, 1)
     */
    public SoftmaxCrossEntropy(double labelSmoothing) {
        if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + labelSmoothing);
        }
        this.smoothing = labelSmoothing;
    }

    /** The label smoothing {@code eps} (0: plain cross-entropy). */
    public double labelSmoothing() { return smoothing; }

    @Override
    public double forwardDouble(Tensor scores, int[] y) {
        Loss.checkInputs("SoftmaxCrossEntropy", scores, y);
        int n = scores.dim(0), c = scores.dim(1);
        Tensor d = dscores.get(n, c);
        MemorySegment s = scores.segment(), ds = d.segment();
        double total = 0;
        if (rowExp.length != c) rowExp = new double[c];
        double[] e = rowExp;
        for (int i = 0; i < n; i++) {
            long base = (long) i * c;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) max = Math.max(max, s.getAtIndex(F, base + j));
            double sum = 0;
            for (int j = 0; j < c; j++) {
                e[j] = Math.exp(s.getAtIndex(F, base + j) - (double) max);
                sum += e[j];
            }
            double logSum = Math.log(sum);
            if (smoothing == 0) {
                total += logSum - (s.getAtIndex(F, base + y[i]) - (double) max);
                for (int j = 0; j < c; j++) {
                    double prob = e[j] / sum;
                    ds.setAtIndex(F, base + j, (float) ((prob - (j == y[i] ? 1 : 0)) / n));
                }
            } else {
                double off = smoothing / c, on = 1 - smoothing + off;
                for (int j = 0; j < c; j++) {
                    double shifted = s.getAtIndex(F, base + j) - (double) max;
                    double q = j == y[i] ? on : off;
                    total += q * (logSum - shifted);
                    ds.setAtIndex(F, base + j, (float) ((e[j] / sum - q) / n));
                }
            }
        }
        ready = true;
        return total / n;
    }

    @Override
    public Tensor dscores() {
        if (!ready) throw new IllegalStateException("SoftmaxCrossEntropy.dscores() called before forward (or after close)");
        return dscores.current();
    }

    @Override
    public void close() {
        dscores.close();
        ready = false;
    }
}
