package dev.panamann.ops;

import dev.panamann.ops.java.GemmKernel;
import java.lang.foreign.MemorySegment;

/**
 * The layer loops of {@link Elementwise} on the Vector API ({@code jdk.incubator.vector}): the
 * same contract and the same bits as the scalar loops there. Selected like the Java backend's
 * gemm kernel ({@link GemmKernel#fromSettings()}: setting {@code panamann.java.vector} /
 * {@code PANAMANN_JAVA_VECTOR}, {@code auto} by default); the implementation class is loaded by
 * name, so nothing links to the incubator module unless it is there.
 */
interface ElementwiseLoops {
    /** {@link Elementwise#relu}. */
    void relu(MemorySegment x, MemorySegment out, int n);

    /** {@link Elementwise#reluBackward}. */
    void reluBackward(MemorySegment out, MemorySegment dout, MemorySegment dx, int n);

    /** {@link Elementwise#addToRows}. */
    void addToRows(MemorySegment m, MemorySegment row, int rows, int cols);

    /** {@link Elementwise#columnSums}. */
    void columnSums(MemorySegment m, int rows, int cols, MemorySegment dst);

    /** "vector (N floats)". */
    String name();

    /**
     * The Vector API loops when the settings ask for the Vector API, else null (the scalar
     * loops). A setting {@link GemmKernel#fromSettings} rejects also gives null here: the
     * backends and optimizers that read the same setting report it.
     */
    static ElementwiseLoops fromSettings() {
        try {
            if (!GemmKernel.fromSettings().name().startsWith("vector")) return null;
        } catch (IllegalArgumentException e) {
            return null;
        }
        return vector();
    }

    /** The Vector API loops (the JVM must have {@code jdk.incubator.vector}). */
    static ElementwiseLoops vector() {
        try {
            return (ElementwiseLoops) Class.forName("dev.panamann.ops.VectorElementwiseLoops").getDeclaredConstructor()
                    .newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("cannot load the Vector API elementwise loops: " + e, e);
        }
    }
}
