package dev.panamann.optim;

import dev.panamann.tensor.Param;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * RMSProp (cs231n {@code rmsprop}):
 * <pre>
 *   cache = decay_rate * cache + (1 - decay_rate) * dw^2
 *   w = w - lr * dw / (sqrt(cache) + epsilon)
 * </pre>
 * With an L2 weight decay ({@link Optimizer}) {@code dw + weight_decay * w} takes the place of
 * {@code dw} for the weights. State: {@code cache}, of each parameter's shape, starting at zero.
 */
public final class RmsProp extends Optimizer {
    public static final double DEFAULT_LEARNING_RATE = 1e-2;
    public static final double DEFAULT_DECAY_RATE = 0.99;
    public static final double DEFAULT_EPSILON = 1e-8;

    private final float decay, eps;

    /** With learning rate 1e-2, decay rate 0.99 and epsilon 1e-8. */
    public RmsProp() { this(DEFAULT_LEARNING_RATE, DEFAULT_DECAY_RATE, DEFAULT_EPSILON); }

    /** @param learningRate step size, &gt; 0 (decay rate 0.99, epsilon 1e-8) */
    public RmsProp(double learningRate) { this(learningRate, DEFAULT_DECAY_RATE, DEFAULT_EPSILON); }

    /**
     * @param learningRate step size, &gt; 0
     * @param decayRate    in [0, 1)
     * @param epsilon      &gt; 0
     */
    public RmsProp(double learningRate, double decayRate, double epsilon) {
        this(learningRate, decayRate, epsilon, 0);
    }

    /**
     * @param learningRate step size, &gt; 0
     * @param decayRate    in [0, 1)
     * @param epsilon      &gt; 0
     * @param weightDecay  L2 weight decay added to the gradient of the weights ({@code dw + weight_decay * w},
     *                     see {@link Optimizer}), a finite number &gt;= 0
     */
    public RmsProp(double learningRate, double decayRate, double epsilon, double weightDecay) {
        super("rmsprop", learningRate, weightDecay, "cache");
        this.decay = (float) unitInterval("rmsprop", "decay_rate", decayRate);
        this.eps = (float) positive("rmsprop", "epsilon", epsilon);
    }

    /**
     * The running average of squared gradients of {@code p}: a live view of its shape (zeros
     * before the first step); write into it to set it. Do not close it.
     */
    public Tensor cache(Param p) { return state(p, 0); }

    @Override
    public Map<String, Double> hyperparameters() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("decay_rate", (double) decay);
        m.put("epsilon", (double) eps);
        return withL2Decay(m);
    }

    @Override
    protected void update(MemorySegment w, MemorySegment dw, MemorySegment[] state, long t, int n) {
        MemorySegment cache = state[0];
        float lr = (float) learningRate(), d = decay, oneMinusD = 1f - decay, eps = this.eps;
        for (int i = 0; i < n; i++) {
            float g = dw.getAtIndex(F, i);
            float c = d * cache.getAtIndex(F, i) + oneMinusD * g * g;
            cache.setAtIndex(F, i, c);
            w.setAtIndex(F, i, w.getAtIndex(F, i) - lr * g / ((float) Math.sqrt(c) + eps));
        }
    }

    @Override
    protected boolean elementwise() { return true; }

    @Override
    protected void updateChunk(float[] w, float[] dw, float[][] state, float[] scalars, int len) {
        float[] cache = state[0];
        float lr = (float) learningRate(), d = decay, oneMinusD = 1f - decay, eps = this.eps;
        for (int i = 0; i < len; i++) {
            float g = dw[i];
            float c = d * cache[i] + oneMinusD * g * g;
            cache[i] = c;
            w[i] = w[i] - lr * g / ((float) Math.sqrt(c) + eps);
        }
    }
}
