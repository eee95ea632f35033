package dev.panamann.optim;

import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Vanilla stochastic gradient descent: {@code w -= lr * dw}, with {@code dw + weight_decay * w}
 * for the weights when it has an L2 weight decay ({@link Optimizer}). No state.
 */
public final class Sgd extends Optimizer {
    /** cs231n's default learning rate for this rule. */
    public static final double DEFAULT_LEARNING_RATE = 1e-2;

    /** With the default learning rate 1e-2. */
    public Sgd() { this(DEFAULT_LEARNING_RATE); }

    /** @param learningRate step size, &gt; 0 */
    public Sgd(double learningRate) {
        this(learningRate, 0);
    }

    /**
     * @param learningRate step size, &gt; 0
     * @param weightDecay  L2 weight decay added to the gradient of the weights ({@code dw + weight_decay * w},
     *                     see {@link Optimizer}), a finite number &gt;= 0
     */
    public Sgd(double learningRate, double weightDecay) {
        super("sgd", learningRate, weightDecay);
    }

    @Override
    public Map<String, Double> hyperparameters() { return withL2Decay(new LinkedHashMap<>()); }

    @Override
    protected void update(MemorySegment w, MemorySegment dw, MemorySegment[] state, long t, int n) {
        float lr = (float) learningRate();
        for (int i = 0; i < n; i++) {
            w.setAtIndex(F, i, w.getAtIndex(F, i) - lr * dw.getAtIndex(F, i));
        }
    }

    @Override
    protected boolean elementwise() { return true; }

    /** True: {@code w - lr * (dw + weight_decay * w) = (1 - lr * weight_decay) * w - lr * dw} (equal up to rounding). */
    @Override
    public boolean fusable() { return true; }

    @Override
    boolean updateDirect(UpdateLoops loops, MemorySegment w, MemorySegment dw, MemorySegment[] state, float[] scalars,
                         float l2, int from, int to) {
        loops.sgd(w, dw, (float) learningRate(), l2, from, to);
        return true;
    }

    @Override
    protected void updateChunk(float[] w, float[] dw, float[][] state, float[] scalars, int len) {
        float lr = (float) learningRate();
        for (int i = 0; i < len; i++) w[i] = w[i] - lr * dw[i];
    }
}
