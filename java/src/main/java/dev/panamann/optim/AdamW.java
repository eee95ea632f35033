package dev.panamann.optim;

import dev.panamann.tensor.Param;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam with decoupled weight decay (AdamW, Loshchilov &amp; Hutter, "Decoupled Weight Decay
 * Regularization"): {@link Adam}'s step plus a shrinking of the parameter that does not pass
 * through the moments.
 * <pre>
 *   t = t + 1
 *   m = beta1 * m + (1 - beta1) * dw
 *   v = beta2 * v + (1 - beta2) * dw^2
 *   w = w - (lr * weight_decay) * w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)
 * </pre>
 * As in PyTorch's {@code AdamW}, the decay is scaled by the current learning rate, so it
 * follows the schedule. It applies to the parameters whose {@link Param#regularized()} is true
 * (the weights; biases and batch-norm scales and shifts are not decayed); for the others the
 * step is {@link Adam}'s. Use it with the model's {@code reg} at 0.
 *
 * <p>State: {@code m} and {@code v}, of each parameter's shape, starting at zero, and {@code t}.
 */
public final class AdamW extends Optimizer {
    /** The default weight decay, 1e-2 (PyTorch's). */
    public static final double DEFAULT_WEIGHT_DECAY = 1e-2;

    private final double beta1, beta2, weightDecay;
    private final float eps;

    /** With learning rate 1e-3, betas 0.9 and 0.999, epsilon 1e-8 and weight decay 1e-2. */
    public AdamW() {
        this(Adam.DEFAULT_LEARNING_RATE, Adam.DEFAULT_BETA1, Adam.DEFAULT_BETA2, Adam.DEFAULT_EPSILON, DEFAULT_WEIGHT_DECAY);
    }

    /**
     * @param learningRate step size, &gt; 0
     * @param beta1        decay of the first moment, in [0, 1)
     * @param beta2        decay of the second moment, in [0, 1)
     * @param epsilon      &gt; 0
     * @param weightDecay  decoupled weight decay per unit of learning rate, in [0, 1)
     */
    public AdamW(double learningRate, double beta1, double beta2, double epsilon, double weightDecay) {
        super("adamw", learningRate, "m", "v");
        this.beta1 = unitInterval("adamw", "beta1", beta1);
        this.beta2 = unitInterval("adamw", "beta2", beta2);
        this.eps = (float) positive("adamw", "epsilon", epsilon);
        this.weightDecay = unitInterval("adamw", "weight_decay", weightDecay);
    }

    /** The decoupled weight decay. */
    public double weightDecay() { return weightDecay; }

    /**
     * The first moment {@code m} of {@code p}: a live view of its shape (zeros before the first
     * step); write into it to set it. Do not close it.
     */
    public Tensor firstMoment(Param p) { return state(p, 0); }

    /**
     * The second moment {@code v} of {@code p}: a live view of its shape (zeros before the
     * first step); write into it to set it. Do not close it.
     */
    public Tensor secondMoment(Param p) { return state(p, 1); }

    @Override
    public Map<String, Double> hyperparameters() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("beta1", beta1);
        m.put("beta2", beta2);
        m.put("epsilon", (double) eps);
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
        MemorySegment m = state[0], v = state[1];
        float lr = (float) learningRate(), eps = this.eps;
        float b1 = (float) beta1, oneMinusB1 = (float) (1 - beta1);
        float b2 = (float) beta2, oneMinusB2 = (float) (1 - beta2);
        // bias corrections in double: 1 - beta^t loses everything in float for beta2 near 1
        float c1 = (float) (1 / (1 - Math.pow(beta1, t)));
        float c2 = (float) (1 / (1 - Math.pow(beta2, t)));
        float lrWd = (float) (learningRate() * weightDecay);
        for (int i = 0; i < n; i++) {
            float g = dw.getAtIndex(F, i);
            float mi = b1 * m.getAtIndex(F, i) + oneMinusB1 * g;
            float vi = b2 * v.getAtIndex(F, i) + oneMinusB2 * g * g;
            m.setAtIndex(F, i, mi);
            v.setAtIndex(F, i, vi);
            float wi = w.getAtIndex(F, i);
            w.setAtIndex(F, i, wi - lrWd * wi - lr * (mi * c1) / ((float) Math.sqrt(vi * c2) + eps));
        }
    }

    @Override
    protected boolean elementwise() { return true; }

    /**
     * The bias corrections of step t and {@code lr * weight_decay} (0 for a parameter that is
     * not decayed), once per parameter and step rather than once per chunk.
     */
    @Override
    protected void stepScalars(long t, boolean decay, float[] scalars) {
        // in double: 1 - beta^t loses everything in float for beta2 near 1
        scalars[0] = (float) (1 / (1 - Math.pow(beta1, t)));
        scalars[1] = (float) (1 / (1 - Math.pow(beta2, t)));
        scalars[2] = decay ? (float) (learningRate() * weightDecay) : 0f;
    }

    @Override
    protected void updateChunk(float[] w, float[] dw, float[][] state, float[] scalars, int len) {
        float[] m = state[0], v = state[1];
        float lr = (float) learningRate(), eps = this.eps;
        float b1 = (float) beta1, oneMinusB1 = (float) (1 - beta1);
        float b2 = (float) beta2, oneMinusB2 = (float) (1 - beta2);
        float c1 = scalars[0], c2 = scalars[1], lrWd = scalars[2];
        for (int i = 0; i < len; i++) {
            float g = dw[i];
            float mi = b1 * m[i] + oneMinusB1 * g;
            float vi = b2 * v[i] + oneMinusB2 * g * g;
            m[i] = mi;
            v[i] = vi;
            w[i] = w[i] - lrWd * w[i] - lr * (mi * c1) / ((float) Math.sqrt(vi * c2) + eps);
        }
    }
}
