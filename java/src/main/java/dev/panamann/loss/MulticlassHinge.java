package dev.panamann.loss;

import dev.panamann.tensor.Buffer;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Multiclass SVM (hinge) loss with margin 1 (cs231n {@code svm_loss}):
 * {@code L = 1/N sum_i sum_{j != y_i} max(0, s[i, j] - s[i, y_i] + 1)}. Its gradient: each
 * positive margin adds {@code 1/N} to {@code ds[i, j]} and subtracts {@code 1/N} from
 * {@code ds[i, y_i]}.
 * <ul>
 *   <li>scores: (N, C)</li>
 *   <li>y: N labels in [0, C)</li>
 *   <li>dscores: (N, C)</li>
 * </ul>
 */
public final class MulticlassHinge implements Loss {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** The margin, 1 as in cs231n. */
    public static final float MARGIN = 1f;

    private final Buffer dscores = new Buffer();
    private boolean ready;

    @Override
    public double forwardDouble(Tensor scores, int[] y) {
        Loss.checkInputs("MulticlassHinge", scores, y);
        int n = scores.dim(0), c = scores.dim(1);
        Tensor d = dscores.get(n, c);
        MemorySegment s = scores.segment(), ds = d.segment();
        float inv = 1f / n;
        double total = 0;
        for (int i = 0; i < n; i++) {
            long base = (long) i * c;
            double correct = s.getAtIndex(F, base + y[i]);
            int positive = 0;
            for (int j = 0; j < c; j++) {
                double margin = s.getAtIndex(F, base + j) - correct + MARGIN;
                if (j != y[i] && margin > 0) {
                    total += margin;
                    positive++;
                    ds.setAtIndex(F, base + j, inv);
                } else {
                    ds.setAtIndex(F, base + j, 0f);
                }
            }
            ds.setAtIndex(F, base + y[i], -positive * inv);
        }
        ready = true;
        return total / n;
    }

    @Override
    public Tensor dscores() {
        if (!ready) throw new IllegalStateException("MulticlassHinge.dscores() called before forward (or after close)");
        return dscores.current();
    }

    @Override
    public void close() {
        dscores.close();
        ready = false;
    }
}
