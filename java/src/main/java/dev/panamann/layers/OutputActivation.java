package dev.panamann.layers;

import dev.panamann.tensor.Buffer;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * An elementwise activation on any shape whose derivative can be written in terms of its own
 * output ({@link ReLU}, {@link Sigmoid}): backward reads the layer's output, so it keeps no
 * reference to x. Output and input-gradient buffers are reused while the shape holds.
 *
 * <p>A new activation is one file: extend this class with the two loops (or calls to
 * {@link dev.panamann.ops.Elementwise}), e.g.
 * <pre>{@code
 * public final class Tanh extends OutputActivation {
 *     protected void apply(MemorySegment x, MemorySegment out, int n) {
 *         for (int i = 0; i < n; i++) out.setAtIndex(F, i, (float) Math.tanh(x.getAtIndex(F, i)));
 *     }
 *     protected void gradient(MemorySegment out, MemorySegment dout, MemorySegment dx, int n) {
 *         for (int i = 0; i < n; i++) {
 *             float y = out.getAtIndex(F, i);
 *             dx.setAtIndex(F, i, dout.getAtIndex(F, i) * (1 - y * y));
 *         }
 *     }
 * }
 * }</pre>
 * with {@code F = ValueLayout.JAVA_FLOAT_UNALIGNED}.
 */
public abstract class OutputActivation implements Layer {
    private final Buffer out = new Buffer();
    private final Buffer dx = new Buffer();
    private boolean ready;

    /** {@code out[i] = f(x[i])} for i in [0, n). */
    protected abstract void apply(MemorySegment x, MemorySegment out, int n);

    /** {@code dx[i] = dout[i] * f'(x[i])}, computed from {@code out[i] = f(x[i])}, for i in [0, n). */
    protected abstract void gradient(MemorySegment out, MemorySegment dout, MemorySegment dx, int n);

    /**
     * @param x    input, any shape
     * @param mode unused
     * @return out, x's shape, owned by the layer
     */
    @Override
    public final Tensor forward(Tensor x, Mode mode) {
        MemorySegment xs = x.segment();
        Tensor o = out.like(x);
        apply(xs, o.segment(), x.sizeInt());
        ready = true;
        return o;
    }

    /**
     * @param dout upstream gradient, the shape of the last output
     * @return dx, same shape, owned by the layer
     */
    @Override
    public final Tensor backward(Tensor dout) {
        if (!ready) throw new IllegalStateException(this + ".backward called before forward (or after close)");
        Tensor o = out.current();
        if (!dout.sameShape(o)) dout.requireShape(this + ".backward: dout", o.shape()); // message built on failure only
        Tensor d = dx.like(o);
        gradient(o.segment(), dout.segment(), d.segment(), o.sizeInt());
        return d;
    }

    @Override
    public final void close() {
        out.close();
        dx.close();
        ready = false;
    }
}
