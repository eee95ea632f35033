package dev.panamann.layers;

import dev.panamann.ops.Elementwise;
import java.lang.foreign.MemorySegment;

/**
 * Rectified linear unit, elementwise on any shape: {@code out = max(0, x)},
 * {@code dx = dout * (x > 0)}. The backward pass reads the layer's own output (out > 0 exactly
 * when x > 0), so it keeps no reference to x.
 */
public final class ReLU extends OutputActivation {
    @Override
    protected void apply(MemorySegment x, MemorySegment out, int n) {
        Elementwise.relu(x, out, n);
    }

    @Override
    protected void gradient(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
        Elementwise.reluBackward(out, dout, dx, n);
    }

    @Override
    public String toString() { return "ReLU"; }
}
