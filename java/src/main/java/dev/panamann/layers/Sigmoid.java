package dev.panamann.layers;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Logistic sigmoid, elementwise on any shape: {@code out = 1 / (1 + exp(-x))}, values in
 * (0, 1), {@code dx = dout * out * (1 - out)}. Computed without overflow for large |x|.
 */
public final class Sigmoid extends OutputActivation {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Override
    protected void apply(MemorySegment x, MemorySegment out, int n) {
        for (int i = 0; i < n; i++) {
            float v = x.getAtIndex(F, i);
            // exp of a non-positive number only: no overflow for either sign
            float e = (float) Math.exp(-Math.abs(v));
            out.setAtIndex(F, i, v >= 0f ? 1f / (1f + e) : e / (1f + e));
        }
    }

    @Override
    protected void gradient(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
        for (int i = 0; i < n; i++) {
            float s = out.getAtIndex(F, i);
            dx.setAtIndex(F, i, dout.getAtIndex(F, i) * s * (1f - s));
        }
    }

    @Override
    public String toString() { return "Sigmoid"; }
}
