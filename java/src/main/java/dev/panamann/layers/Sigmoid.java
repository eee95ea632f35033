package dev.panamann.layers;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Logistic sigmoid, elementwise on any shape: {@code out = 1 / (1 + exp(-x))},
 * {@code dx = dout * out * (1 - out)}. Computed without overflow for large |x|.
 */
public final class Sigmoid implements Layer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Buffer out = new Buffer();
    private final Buffer dx = new Buffer();
    private boolean ready;

    /**
     * @param x    input, any shape
     * @param mode unused
     * @return out, x's shape, values in (0, 1), owned by the layer
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        MemorySegment xs = x.segment();
        Tensor o = out.like(x);
        MemorySegment os = o.segment();
        int n = x.sizeInt();
        for (int i = 0; i < n; i++) {
            float v = xs.getAtIndex(F, i);
            // exp of a non-positive number only: no overflow for either sign
            float e = (float) Math.exp(-Math.abs(v));
            os.setAtIndex(F, i, v >= 0f ? 1f / (1f + e) : e / (1f + e));
        }
        ready = true;
        return o;
    }

    /**
     * @param dout upstream gradient, the shape of the last output
     * @return dx, same shape, owned by the layer
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (!ready) throw new IllegalStateException("Sigmoid.backward called before forward (or after close)");
        Tensor o = out.current();
        dout.requireShape("Sigmoid.backward: dout", o.shape());
        Tensor d = dx.like(o);
        MemorySegment os = o.segment(), ds = dout.segment(), dxs = d.segment();
        int n = o.sizeInt();
        for (int i = 0; i < n; i++) {
            float s = os.getAtIndex(F, i);
            dxs.setAtIndex(F, i, ds.getAtIndex(F, i) * s * (1f - s));
        }
        return d;
    }

    @Override
    public void close() {
        out.close();
        dx.close();
        ready = false;
    }

    @Override
    public String toString() { return "Sigmoid"; }
}
