package dev.panamann.optim;

import java.lang.foreign.MemorySegment;

/**
 * SGD with momentum (cs231n {@code sgd_momentum}):
 * <pre>
 *   v = momentum * v - lr * dw
 *   w = w + v
 * </pre>
 * With an L2 weight decay ({@link Optimizer}) {@code dw + weight_decay * w} takes the place of
 * {@code dw} for the weights. State: {@code velocity}, of each parameter's shape, starting at zero.
 */
public final class SgdMomentum extends MomentumOptimizer {
    /** With learning rate 1e-2 and momentum 0.9. */
    public SgdMomentum() { this(DEFAULT_LEARNING_RATE, DEFAULT_MOMENTUM); }

    /**
     * @param learningRate step size, &gt; 0
     * @param momentum     in [0, 1)
     */
    public SgdMomentum(double learningRate, double momentum) {
        this(learningRate, momentum, 0);
    }

    /**
     * @param learningRate step size, &gt; 0
     * @param momentum     in [0, 1)
     * @param weightDecay  L2 weight decay added to the gradient of the weights ({@code dw + weight_decay * w},
     *                     see {@link Optimizer}), a finite number &gt;= 0
     */
    public SgdMomentum(double learningRate, double momentum, double weightDecay) {
        super("sgd_momentum", learningRate, momentum, weightDecay);
    }

    @Override
    protected void update(MemorySegment w, MemorySegment dw, MemorySegment[] state, long t, int n) {
        MemorySegment v = state[0];
        float lr = (float) learningRate(), mu = this.mu;
        for (int i = 0; i < n; i++) {
            float vi = mu * v.getAtIndex(F, i) - lr * dw.getAtIndex(F, i);
            v.setAtIndex(F, i, vi);
            w.setAtIndex(F, i, w.getAtIndex(F, i) + vi);
        }
    }

    @Override
    protected boolean elementwise() { return true; }

    @Override
    boolean updateDirect(UpdateLoops loops, MemorySegment w, MemorySegment dw, MemorySegment[] state, float[] scalars,
                         float l2, int from, int to) {
        loops.momentum(w, dw, state[0], (float) learningRate(), mu, l2, from, to);
        return true;
    }

    @Override
    protected void updateChunk(float[] w, float[] dw, float[][] state, float[] scalars, int len) {
        float[] v = state[0];
        float lr = (float) learningRate(), mu = this.mu;
        for (int i = 0; i < len; i++) {
            float vi = mu * v[i] - lr * dw[i];
            v[i] = vi;
            w[i] = w[i] + vi;
        }
    }
}
