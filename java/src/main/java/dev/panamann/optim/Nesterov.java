package dev.panamann.optim;

import java.lang.foreign.MemorySegment;

/**
 * Nesterov momentum in the form of the cs231n notes (the gradient is taken at the current
 * parameters, which stand for the look-ahead point):
 * <pre>
 *   v_prev = v
 *   v = momentum * v - lr * dw
 *   w = w - momentum * v_prev + (1 + momentum) * v
 * </pre>
 * With an L2 weight decay ({@link Optimizer}) {@code dw + weight_decay * w} takes the place of
 * {@code dw} for the weights. State: {@code velocity}, of each parameter's shape, starting at zero.
 */
public final class Nesterov extends MomentumOptimizer {
    /** With learning rate 1e-2 and momentum 0.9. */
    public Nesterov() { this(DEFAULT_LEARNING_RATE, DEFAULT_MOMENTUM); }

    /**
     * @param learningRate step size, &gt; 0
     * @param momentum     in [0, 1)
     */
    public Nesterov(double learningRate, double momentum) {
        this(learningRate, momentum, 0);
    }

    /**
     * @param learningRate step size, &gt; 0
     * @param momentum     in [0, 1)
     * @param weightDecay  L2 weight decay added to the gradient of the weights ({@code dw + weight_decay * w},
     *                     see {@link Optimizer}), a finite number &gt;= 0
     */
    public Nesterov(double learningRate, double momentum, double weightDecay) {
        super("nesterov", learningRate, momentum, weightDecay);
    }

    @Override
    protected void update(MemorySegment w, MemorySegment dw, MemorySegment[] state, long t, int n) {
        MemorySegment v = state[0];
        float lr = (float) learningRate(), mu = this.mu, onePlusMu = 1f + mu;
        for (int i = 0; i < n; i++) {
            float vPrev = v.getAtIndex(F, i);
            float vi = mu * vPrev - lr * dw.getAtIndex(F, i);
            v.setAtIndex(F, i, vi);
            w.setAtIndex(F, i, w.getAtIndex(F, i) - mu * vPrev + onePlusMu * vi);
        }
    }

    @Override
    protected boolean elementwise() { return true; }

    @Override
    protected void updateChunk(float[] w, float[] dw, float[][] state, float[] scalars, int len) {
        float[] v = state[0];
        float lr = (float) learningRate(), mu = this.mu, onePlusMu = 1f + mu;
        for (int i = 0; i < len; i++) {
            float vPrev = v[i];
            float vi = mu * vPrev - lr * dw[i];
            v[i] = vi;
            w[i] = w[i] - mu * vPrev + onePlusMu * vi;
        }
    }
}
