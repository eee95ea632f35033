package dev.panamann.optim;

import dev.panamann.tensor.Param;
import dev.panamann.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the momentum rules ({@link SgdMomentum}, {@link Nesterov}, {@link SgdNesterov}) share: a momentum
 * coefficient in [0, 1) and one {@code velocity} per parameter, of its shape, starting at
 * zero. The subclasses differ only in their update formula.
 */
public abstract sealed class MomentumOptimizer extends Optimizer permits SgdMomentum, Nesterov, SgdNesterov {
    public static final double DEFAULT_LEARNING_RATE = 1e-2;
    public static final double DEFAULT_MOMENTUM = 0.9;

    /** The momentum coefficient. */
    protected final float mu;

    MomentumOptimizer(String rule, double learningRate, double momentum, double weightDecay) {
        super(rule, learningRate, weightDecay, "velocity");
        this.mu = (float) unitInterval(rule, "momentum", momentum);
    }

    /**
     * The velocity of {@code p}: a live view of its shape (zeros before the first step); write
     * into it to set it. Do not close it.
     */
    public final Tensor velocity(Param p) { return state(p, 0); }

    @Override
    public Map<String, Double> hyperparameters() {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("momentum", (double) mu);
        return withL2Decay(m);
    }
}
