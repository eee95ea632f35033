package dev.panamann.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The ReLU loops over float32 segments, shared by the {@code ReLU} layer and the pure-Java
 * conv-relu-pool: {@code out = max(0, x)} and {@code dx = dout * (out > 0)}.
 */
public final class Relu {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Relu() {}

    /** {@code out[i] = max(x[i], 0)} for i in [0, n); out may be x. */
    public static void forward(MemorySegment x, MemorySegment out, int n) {
        for (int i = 0; i < n; i++) out.setAtIndex(F, i, Math.max(x.getAtIndex(F, i), 0f));
    }

    /**
     * {@code dx[i] = out[i] > 0 ? dout[i] : 0} for i in [0, n), from the forward's output
     * (which is > 0 exactly where the input was).
     */
    public static void backward(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
        for (int i = 0; i < n; i++) {
            // branch-free (the sign of a ReLU input is a coin flip for the branch predictor):
            // out >= +0, so its bits are 0 exactly when out is 0; mask is all ones otherwise
            int bits = Float.floatToRawIntBits(out.getAtIndex(F, i));
            int mask = (bits | -bits) >> 31;
            dx.setAtIndex(F, i, Float.intBitsToFloat(Float.floatToRawIntBits(dout.getAtIndex(F, i)) & mask));
        }
    }
}
