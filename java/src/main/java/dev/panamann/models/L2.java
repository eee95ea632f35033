package dev.panamann.models;

import dev.panamann.optim.L2Penalty;
import dev.panamann.tensor.Param;
import java.util.List;

/** The L2 penalty {@code 0.5 * reg * sum(W^2)} and its gradient {@code reg * W} ({@link L2Penalty}). */
final class L2 {
    private L2() {}

    /**
     * Adds {@code reg * W} to each weight's gradient and returns {@code 0.5 * reg * sum(W^2)}.
     *
     * @param weights the regularized params, any shapes
     * @param reg     regularization strength, &gt;= 0
     */
    static double apply(List<Param> weights, float reg) {
        return L2Penalty.apply(weights, reg);
    }

    static float checkReg(float reg) {
        if (!(reg >= 0f) || Float.isInfinite(reg)) throw new IllegalArgumentException("reg must be a number >= 0, got " + reg);
        return reg;
    }
}
