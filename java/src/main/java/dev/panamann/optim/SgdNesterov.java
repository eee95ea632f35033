package dev.panamann.optim;

import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * SGD with Nesterov momentum (the {@link Nesterov} form) and decoupled weight decay
 * (Loshchilov &amp; Hutter, "Decoupled Weight Decay Regularization"): the decay shrinks the
 * parameter directly instead of entering the gradient, so the momentum never carries it.
 * <pre>
 *   v_prev = v
 *   v = momentum * v - lr * dw
 *   w = w - (lr * weight_decay) * w - momentum * v_prev + (1 + momentum) * v
 * </pre>
 * The decay term is scaled by the current learning rate (as PyTorch's AdamW does), so it
 * follows the learning-rate schedule. It applies to the parameters whose
 * {@link dev.panamann.tensor.Param#regularized()} is true (the weights; biases and batch-norm
 * scales and shifts are not decayed); for the others the step is {@link Nesterov}'s. Use it
 * with the model's {@code reg} at 0, or the weights are decayed twice.
 *
 * <p>State: {@code velocity}, of each parameter's shape, starting at zero.
 */
public final class SgdNesterov extends MomentumOptimizer {
    /** The default decoupled weight decay, 5e-4. */
    public static final double DEFAULT_WEIGHT_DECAY = 5e-4;

    private final double weightDecay;

    /** With learning rate 1e-2, momentum 0.9 and weight decay 5e-4. */
    public SgdNesterov() { this(DEFAULT_LEARNING_RATE, DEFAULT_MOMENTUM, DEFAULT_WEIGHT_DECAY); }

    /**
     * @param learningRate step size, &gt; 0
     * @param momentum     in [0, 1)
     * @param weightDecay  decoupled weight decay per unit of learning rate, in [0, 1)
     */
    public SgdNesterov(double learningRate, double momentum, double weightDecay) {
        super("sgd_nesterov", learningRate, momentum, 0);
        this.weightDecay = unitInterval("sgd_nesterov", "weight_decay", weightDecay);
    }

    /** The decoupled weight decay. */
    public double weightDecay() { return weightDecay; }

    @Override
    public Map<String, Double> hyperparameters() {
        Map<String, Double> m = super.hyperparameters();
        m.put("weight_decay", weightDecay);
        return m;
    }

    /**
     * The loop for a parameter that is decayed (the reference the chunked step is checked
     * against; the optimizer's own steps take the chunked path, which knows each parameter's
     * decay flag).
     */
    @Override
    protected void update(MemorySegment w, MemorySegment dw, MemorySegment[] state, long t, int n) {
        MemorySegment v = state[0];
        float lr = (float) learningRate(), mu = this.mu, onePlusMu = 1f + mu;
        float lrWd = (float) (learningRate() * weightDecay);
        for (int i = 0; i < n; i++) {
            float vPrev = v.getAtIndex(F, i);
            float vi = mu * vPrev - lr * dw.getAtIndex(F, i);
            v.setAtIndex(F, i, vi);
            float wi = w.getAtIndex(F, i);
            w.setAtIndex(F, i, wi - lrWd * wi - mu * vPrev + onePlusMu * vi);
        }
    }

    @Override
    protected boolean elementwise() { return true; }

    /** scalars[0]: {@code lr * weight_decay} for a decayed parameter, 0 for the others. */
    @Override
    protected void stepScalars(long t, boolean decay, float[] scalars) {
        scalars[0] = decay ? (float) (learningRate() * weightDecay) : 0f;
    }

    @Override
    protected void updateChunk(float[] w, float[] dw, float[][] state, float[] scalars, int len) {
        float[] v = state[0];
        float lr = (float) learningRate(), mu = this.mu, onePlusMu = 1f + mu;
        float lrWd = scalars[0];
        for (int i = 0; i < len; i++) {
            float vPrev = v[i];
            float vi = mu * vPrev - lr * dw[i];
            v[i] = vi;
            w[i] = w[i] - lrWd * w[i] - mu * vPrev + onePlusMu * vi;
        }
    }
}
