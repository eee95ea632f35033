package dev.panamann.models;

import dev.panamann.ops.Elementwise;
import dev.panamann.ops.java.GemmKernel;
import dev.panamann.tensor.Param;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** The L2 penalty {@code 0.5 * reg * sum(W^2)} and its gradient {@code reg * W}. */
final class L2 {
    private L2() {}

    /**
     * Adds {@code reg * W} to each weight's gradient and returns {@code 0.5 * reg * sum(W^2)}.
     *
     * @param weights the regularized params, any shapes
     * @param reg     regularization strength, &gt;= 0
     */
    static double apply(List<Param> weights, float reg) {
        if (reg == 0f) return 0;
        Pass pass = pass();
        double sum = 0;
        for (Param p : weights) sum += pass.apply(reg, p.value().segment(), p.grad().segment(), p.value().sizeInt());
        return 0.5 * reg * sum;
    }

    /** The term for one weight tensor: {@code g += reg * w} over n elements; returns {@code sum(w^2)}. */
    interface Pass {
        double apply(float reg, MemorySegment w, MemorySegment g, int n);
    }

    /** Two scalar loops. */
    static final Pass SCALAR = (reg, w, g, n) -> {
        double s = Elementwise.sumOfSquares(w, n);
        Elementwise.axpy(reg, w, g, n);
        return s;
    };

    private static volatile Pass selected;

    /**
     * {@link VectorL2} when the Java vector setting selects the Vector API (as for the gemm
     * kernel and the optimizer loops: {@code panamann.java.vector}, the module present), else
     * {@link #SCALAR}; read at the first use (a bad setting throws there, naming it).
     */
    static Pass pass() {
        Pass p = selected;
        if (p == null) selected = p = select();
        return p;
    }

    private static Pass select() {
        if (!GemmKernel.fromSettings().name().startsWith("vector")) return SCALAR;
        try {
            return (Pass) Class.forName("dev.panamann.models.VectorL2").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("cannot load the Vector API L2 loop: " + e, e);
        }
    }

    static float checkReg(float reg) {
        if (!(reg >= 0f) || Float.isInfinite(reg)) throw new IllegalArgumentException("reg must be a number >= 0, got " + reg);
        return reg;
    }
}
