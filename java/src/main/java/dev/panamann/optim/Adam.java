package dev.panamann.optim;

import dev.panamann.tensor.Param;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Adam with bias correction (cs231n {@code adam}); the step count {@code t} is incremented
 * before it is used, so the first step has {@code t = 1}:
 * <pre>
 *   t = t + 1
 *   m = beta1 * m + (1 - beta1) * dw
 *   mt = m / (1 - beta1^t)
 *   v = beta2 * v + (1 - beta2) * dw^2
 *   vt = v / (1 - beta2^t)
 *   w = w - lr * mt / (sqrt(vt) + epsilon)
 * </pre>
 * With an L2 weight decay ({@link Optimizer}; PyTorch's {@code Adam(weight_decay=...)}, not
 * {@link AdamW}'s decoupled decay) {@code dw + weight_decay * w} takes the place of {@code dw}
 * for the weights. State: {@code m} and {@code v}, of each parameter's shape, starting at zero,
 * and {@code t}.
 */
public final class Adam extends Optimizer {
    public static final double DEFAULT_LEARNING_RATE = 1e-3;
    public static final double DEFAULT_BETA1 = 0.9;
    public static final double DEFAULT_BETA2 = 0.999;
    public static final double DEFAULT_EPSILON = 1e-8;

    private final double beta1, beta2;
    private final float eps;

    /** With learning rate 1e-3, beta1 0.9, beta2 0.999 and epsilon 1e-8. */
    public Adam() { this(DEFAULT_LEARNING_RATE); }

    /** @param learningRate step size, &gt; 0 (betas 0.9 and 0.999, epsilon 1e-8) */
    public Adam(double learningRate) { this(learningRate, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPSILON); }

    /**
     * @param learningRate step size, &gt; 0
     * @param beta1        decay of the first moment, in [0, 1)
     * @param beta2        decay of the second moment, in [0, 1)
     * @param epsilon      &gt; 0
     */
    public Adam(double learningRate, double beta1, double beta2, double epsilon) {
        this(learningRate, beta1, beta2, epsilon, 0);
    }

    /**
     * @param learningRate step size, &gt; 0
     * @param beta1        decay of the first moment, in [0, 1)
     * @param beta2        decay of the second moment, in [0, 1)
     * @param epsilon      &gt; 0
     * @param weightDecay  L2 weight decay added to the gradient of the weights ({@code dw + weight_decay * w},
     *                     see {@link Optimizer}), a finite number &gt;= 0
     */
    public Adam(double learningRate, double beta1, double beta2, double epsilon, double weightDecay) {
        super("adam", learningRate, weightDecay, "m", "v");
        this.beta1 = unitInterval("adam", "beta1", beta1);
        this.beta2 = unitInterval("adam", "beta2", beta2);
        this.eps = (float) positive("adam", "epsilon", epsilon);
    }

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
        return withL2Decay(m);
    }

    @Override
    protected void update(MemorySegment w, MemorySegment dw, MemorySegment[] state, long t, int n) {
        MemorySegment m = state[0], v = state[1];
        float lr = (float) learningRate(), eps = this.eps;
        float b1 = (float) beta1, oneMinusB1 = (float) (1 - beta1);
        float b2 = (float) beta2, oneMinusB2 = (float) (1 - beta2);
        // bias corrections in double: 1 - beta^t loses everything in float for beta2 near 1
        float c1 = (float) (1 / (1 - Math.pow(beta1, t)));
        float c2 = (float) (1 / (1 - Math.pow(beta2, t)));
        for (int i = 0; i < n; i++) {
            float g = dw.getAtIndex(F, i);
            float mi = b1 * m.getAtIndex(F, i) + oneMinusB1 * g;
            float vi = b2 * v.getAtIndex(F, i) + oneMinusB2 * g * g;
            m.setAtIndex(F, i, mi);
            v.setAtIndex(F, i, vi);
            w.setAtIndex(F, i, w.getAtIndex(F, i) - lr * (mi * c1) / ((float) Math.sqrt(vi * c2) + eps));
        }
    }

    @Override
    protected boolean elementwise() { return true; }

    /** The bias corrections of step t, once per parameter and step rather than once per chunk. */
    @Override
    protected void stepScalars(long t, float[] scalars) {
        // in double: 1 - beta^t loses everything in float for beta2 near 1
        scalars[0] = (float) (1 / (1 - Math.pow(beta1, t)));
        scalars[1] = (float) (1 / (1 - Math.pow(beta2, t)));
    }

    @Override
    boolean updateDirect(UpdateLoops loops, MemorySegment w, MemorySegment dw, MemorySegment[] state, float[] scalars,
                         float l2, int from, int to) {
        loops.adam(w, dw, state[0], state[1], (float) learningRate(), (float) beta1, (float) (1 - beta1), (float) beta2,
                (float) (1 - beta2), scalars[0], scalars[1], eps, l2, from, to);
        return true;
    }

    @Override
    protected void updateChunk(float[] w, float[] dw, float[][] state, float[] scalars, int len) {
        float[] m = state[0], v = state[1];
        float lr = (float) learningRate(), eps = this.eps;
        float b1 = (float) beta1, oneMinusB1 = (float) (1 - beta1);
        float b2 = (float) beta2, oneMinusB2 = (float) (1 - beta2);
        float c1 = scalars[0], c2 = scalars[1];
        for (int i = 0; i < len; i++) {
            float g = dw[i];
            float mi = b1 * m[i] + oneMinusB1 * g;
            float vi = b2 * v[i] + oneMinusB2 * g * g;
            m[i] = mi;
            v[i] = vi;
            w[i] = w[i] - lr * (mi * c1) / ((float) Math.sqrt(vi * c2) + eps);
        }
    }
}
