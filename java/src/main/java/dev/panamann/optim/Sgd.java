package dev.panamann.optim;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * Vanilla stochastic gradient descent: {@code w -= lr * dw}. No state.
 */
public final class Sgd extends Optimizer {
    /** cs231n's default learning rate for this rule. */
    public static final double DEFAULT_LEARNING_RATE = 1e-2;

    /** With the default learning rate 1e-2. */
    public Sgd() { this(DEFAULT_LEARNING_RATE); }

    /** @param learningRate step size, &gt; 0 */
    public Sgd(double learningRate) {
        super("sgd", learningRate);
    }

    @Override
    public Map<String, Double> hyperparameters() { return Map.of(); }

    @Override
    protected void update(MemorySegment w, MemorySegment dw, MemorySegment[] state, long t, int n) {
        float lr = (float) learningRate();
        for (int i = 0; i < n; i++) {
            w.setAtIndex(F, i, w.getAtIndex(F, i) - lr * dw.getAtIndex(F, i));
        }
    }

    @Override
    protected boolean elementwise() { return true; }

    @Override
    boolean updateDirect(UpdateLoops loops, MemorySegment w, MemorySegment dw, MemorySegment[] state, float[] scalars,
                         int from, int to) {
        loops.sgd(w, dw, (float) learningRate(), from, to);
        return true;
    }

    @Override
    protected void updateChunk(float[] w, float[] dw, float[][] state, float[] scalars, int len) {
        float lr = (float) learningRate();
        for (int i = 0; i < len; i++) w[i] = w[i] - lr * dw[i];
    }
}
