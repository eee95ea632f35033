package dev.panamann.layers;

import dev.panamann.ops.Relu;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Rectified linear unit, elementwise on any shape: {@code out = max(0, x)},
 * {@code dx = dout * (x > 0)}. The backward pass reads the layer's own output (out > 0 exactly
 * when x > 0), so it keeps no reference to x.
 */
public final class ReLU implements Layer {
    private final Buffer out = new Buffer();
    private final Buffer dx = new Buffer();
    private boolean ready;

    /**
     * @param x    input, any shape
     * @param mode unused
     * @return out, x's shape, owned by the layer
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        MemorySegment xs = x.segment();
        Tensor o = out.like(x);
        MemorySegment os = o.segment();
        int n = x.sizeInt();
        Relu.forward(xs, os, n);
        ready = true;
        return o;
    }

    /**
     * @param dout upstream gradient, the shape of the last output
     * @return dx, same shape, owned by the layer
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (!ready) throw new IllegalStateException("ReLU.backward called before forward (or after close)");
        Tensor o = out.current();
        dout.requireShape("ReLU.backward: dout", o.shape());
        Tensor d = dx.like(o);
        MemorySegment os = o.segment(), ds = dout.segment(), dxs = d.segment();
        int n = o.sizeInt();
        Relu.backward(os, ds, dxs, n);
        return d;
    }

    @Override
    public void close() {
        out.close();
        dx.close();
        ready = false;
    }

    @Override
    public String toString() { return "ReLU"; }
}
