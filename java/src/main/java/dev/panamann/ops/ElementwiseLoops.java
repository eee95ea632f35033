package dev.panamann.ops;

import dev.panamann.ops.java.GemmKernel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The loops behind {@link Elementwise} that the training step runs on every batch (ReLU and its
 * gradient, bias rows and column sums, sums of tensors), in two versions: {@link Scalar}, a plain
 * loop over the segment, and one on the Vector API ({@code jdk.incubator.vector}) that is loaded
 * by name when the module is present, so nothing links to the incubator module otherwise.
 *
 * <p>Both versions give the same results to the bit (a NaN where the other has a NaN, maybe with
 * another payload): the vector loops do each element's
 * arithmetic as the scalar loop does (the same operations in the same order, separate multiplies
 * and adds, sums per column in row order). They are selected like the Java backend's gemm kernel
 * and the optimizers' loops (setting {@code panamann.java.vector} / {@code PANAMANN_JAVA_VECTOR},
 * {@code auto} by default).
 */
interface ElementwiseLoops {
    ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    void relu(MemorySegment x, MemorySegment out, int n);

    void reluBackward(MemorySegment out, MemorySegment dout, MemorySegment dx, int n);

    void axpy(float alpha, MemorySegment x, MemorySegment y, int n);

    void weightedSum(float a, MemorySegment x, float b, MemorySegment y, MemorySegment out, long from, long to);

    void add(MemorySegment a, MemorySegment b, MemorySegment out, int n);

    void addToRows(MemorySegment m, MemorySegment row, int rows, int cols);

    void columnSums(MemorySegment m, int rows, int cols, MemorySegment dst);

    /** "scalar" or "vector (N floats)". */
    String name();

    /**
     * The loops the settings ask for: the Vector API ones when the Java backend's gemm kernel is
     * the vector one, the scalar ones otherwise, also for a setting the gemm kernel rejects (that
     * setting's error is reported where the kernel or the optimizers are made).
     */
    static ElementwiseLoops fromSettings() {
        String kernel;
        try {
            kernel = GemmKernel.fromSettings().name();
        } catch (IllegalArgumentException e) {
            return Scalar.INSTANCE;
        }
        if (!kernel.startsWith("vector")) return Scalar.INSTANCE;
        try {
            return (ElementwiseLoops) Class.forName("dev.panamann.ops.VectorElementwiseLoops").getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("cannot load the Vector API elementwise loops: " + e, e);
        }
    }

    /** The plain loops: the definition of each operation, and the fallback without the Vector API. */
    final class Scalar implements ElementwiseLoops {
        static final Scalar INSTANCE = new Scalar();

        private Scalar() {}

        @Override
        public void relu(MemorySegment x, MemorySegment out, int n) {
            for (int i = 0; i < n; i++) out.setAtIndex(F, i, Math.max(x.getAtIndex(F, i), 0f));
        }

        @Override
        public void reluBackward(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
            for (int i = 0; i < n; i++) {
                // branch-free (the sign of a ReLU input is a coin flip for the branch predictor):
                // out >= +0, so its bits are 0 exactly when out is 0; mask is all ones otherwise
                int bits = Float.floatToRawIntBits(out.getAtIndex(F, i));
                int mask = (bits | -bits) >> 31;
                dx.setAtIndex(F, i, Float.intBitsToFloat(Float.floatToRawIntBits(dout.getAtIndex(F, i)) & mask));
            }
        }

        @Override
        public void axpy(float alpha, MemorySegment x, MemorySegment y, int n) {
            for (int i = 0; i < n; i++) y.setAtIndex(F, i, y.getAtIndex(F, i) + alpha * x.getAtIndex(F, i));
        }

        @Override
        public void weightedSum(float a, MemorySegment x, float b, MemorySegment y, MemorySegment out, long from, long to) {
            for (long i = from; i < to; i++) out.setAtIndex(F, i, a * x.getAtIndex(F, i) + b * y.getAtIndex(F, i));
        }

        @Override
        public void add(MemorySegment a, MemorySegment b, MemorySegment out, int n) {
            for (int i = 0; i < n; i++) out.setAtIndex(F, i, a.getAtIndex(F, i) + b.getAtIndex(F, i));
        }

        @Override
        public void addToRows(MemorySegment m, MemorySegment row, int rows, int cols) {
            for (int r = 0; r < rows; r++) {
                long base = (long) r * cols;
                for (int j = 0; j < cols; j++) m.setAtIndex(F, base + j, m.getAtIndex(F, base + j) + row.getAtIndex(F, j));
            }
        }

        @Override
        public void columnSums(MemorySegment m, int rows, int cols, MemorySegment dst) {
            for (int j = 0; j < cols; j++) dst.setAtIndex(F, j, 0f); // not asSlice(..).fill: no slice object per call
            for (int r = 0; r < rows; r++) {
                long base = (long) r * cols;
                for (int j = 0; j < cols; j++) dst.setAtIndex(F, j, dst.getAtIndex(F, j) + m.getAtIndex(F, base + j));
            }
        }

        @Override
        public String name() { return "scalar"; }
    }
}
