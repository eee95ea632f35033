package dev.panamann.optim;

import dev.panamann.ops.java.GemmKernel;
import java.lang.foreign.MemorySegment;

/**
 * Update loops of the rules the training runs use most (Adam, SGD with momentum, SGD) that work
 * directly on the parameter and state memory, vectorized with the Vector API
 * ({@code jdk.incubator.vector}), instead of copying chunks into heap arrays. Each loop does
 * the rule's arithmetic in the same order as the rule's scalar loop, lane by lane, with
 * separate multiplies and adds (no fused multiply-add), so the results are the same to the bit.
 *
 * <p>Selected like the Java backend's gemm kernel ({@link GemmKernel#fromSettings()}: setting
 * {@code panamann.java.vector} / {@code PANAMANN_JAVA_VECTOR}, {@code auto} by default): with
 * {@code --add-modules jdk.incubator.vector} these loops run, without the module (or with
 * {@code off}) the rules use their chunked heap-array loops. The implementation class is
 * loaded by name, so nothing links to the incubator module unless it is there.
 */
interface UpdateLoops {
    /*
     * In each rule the gradient is g = dw + l2 w (the L2 weight decay, the same float expression
     * as the model's L2 term: same bits), or g = dw when l2 is 0.
     */

    /**
     * Adam over elements [from, to) of each segment (float offsets):
     * {@code m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g; w = w - lr (m c1) / (sqrt(v c2) + eps)}.
     */
    void adam(MemorySegment w, MemorySegment dw, MemorySegment m, MemorySegment v, float lr, float b1, float oneMinusB1,
              float b2, float oneMinusB2, float c1, float c2, float eps, float l2, int from, int to);

    /** Vanilla SGD over elements [from, to): {@code w = w - lr g}. */
    void sgd(MemorySegment w, MemorySegment dw, float lr, float l2, int from, int to);

    /** SGD with momentum over elements [from, to): {@code v = mu v - lr g; w = w + v}. */
    void momentum(MemorySegment w, MemorySegment dw, MemorySegment v, float lr, float mu, float l2, int from, int to);

    /**
     * The L2 penalty over one block, elements [from, to): {@code g = g + reg w} element by
     * element (the scalar expression, to the bit) and returns {@code sum(w^2)} of the block
     * (summed in another order than a scalar loop; the last bits may differ).
     */
    double l2(MemorySegment w, MemorySegment g, float reg, int from, int to);

    /** "vector (N floats)". */
    String name();

    /** The loops the settings ask for, or null for the rules' chunked loops. */
    static UpdateLoops fromSettings() {
        if (!GemmKernel.fromSettings().name().startsWith("vector")) return null;
        try {
            return (UpdateLoops) Class.forName("dev.panamann.optim.VectorUpdateLoops").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("cannot load the Vector API optimizer loops: " + e, e);
        }
    }
}
