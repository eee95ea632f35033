package dev.panamann.layers;

import dev.panamann.ops.Elementwise;
import java.lang.foreign.MemorySegment;

/**
 * Logistic sigmoid, elementwise on any shape: {@code out = 1 / (1 + exp(-x))}, values in
 * (0, 1), {@code dx = dout * out * (1 - out)}. Computed without overflow for large |x|.
 */
public final class Sigmoid extends OutputActivation {
    @Override
    protected void apply(MemorySegment x, MemorySegment out, int n) {
        Elementwise.sigmoid(x, out, n);
    }

    @Override
    protected void gradient(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
        Elementwise.sigmoidBackward(out, dout, dx, n);
    }

    @Override
    public String toString() { return "Sigmoid"; }
}
