package dev.panamann.layers;

import dev.panamann.tensor.Buffer;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Inverted dropout. {@code p} is the probability of <b>dropping</b> a unit (as in PyTorch's
 * {@code nn.Dropout(p)}; cs231n's newer {@code dropout_keep_ratio} is {@code 1 - p}).
 *
 * <p>In {@link Mode#TRAIN} each element is kept with probability {@code 1 - p} and then scaled
 * by {@code 1 / (1 - p)}, so the expected output equals the input; the mask comes from the
 * seeded {@link Rng} given to the constructor (restore its state to replay a mask). In
 * {@link Mode#EVAL} the layer is the identity and returns x itself.
 * <ul>
 *   <li>x, out, dout, dx: any shape, all the same</li>
 * </ul>
 * Backward after a training forward: {@code dx = dout * mask}; after an evaluation forward:
 * {@code dx = dout}.
 */
public final class Dropout implements Layer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final float p;
    private final Rng rng;
    private final Buffer mask = new Buffer();
    private final Buffer out = new Buffer();
    private final Buffer dx = new Buffer();
    /** Mode of the last forward, null before the first. */
    private Mode last;

    /**
     * @param p   probability of dropping each unit, in [0, 1)
     * @param rng generator for the masks
     */
    public Dropout(float p, Rng rng) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("Dropout: drop probability p must be in [0, 1), got " + p);
        }
        this.p = p;
        this.rng = rng;
    }

    /** The drop probability. */
    public float p() { return p; }

    /** The generator of the masks. */
    @Override
    public List<Rng> generators() { return List.of(rng); }

    /**
     * @param x    input, any shape
     * @param mode TRAIN draws a new mask; EVAL returns x
     * @return out, x's shape, owned by the layer (x itself in EVAL mode)
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        last = mode;
        if (mode == Mode.EVAL) return x;
        Tensor m = mask.like(x);
        Tensor o = out.like(x);
        MemorySegment xs = x.segment(), ms = m.segment(), os = o.segment();
        double keep = 1.0 - p;
        float scale = (float) (1.0 / keep);
        int n = x.sizeInt();
        for (int i = 0; i < n; i++) ms.setAtIndex(F, i, rng.nextDouble() < keep ? scale : 0f);
        for (int i = 0; i < n; i++) os.setAtIndex(F, i, xs.getAtIndex(F, i) * ms.getAtIndex(F, i));
        return o;
    }

    /**
     * @param dout upstream gradient, x's shape
     * @return dx, x's shape, owned by the layer (dout itself after an EVAL forward)
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (last == null) throw new IllegalStateException("Dropout.backward called before forward (or after close)");
        dout.checkOpen();
        if (last == Mode.EVAL) return dout;
        Tensor m = mask.current();
        dout.requireShape("Dropout.backward: dout", m.shape());
        Tensor d = dx.like(m);
        MemorySegment ds = dout.segment(), ms = m.segment(), dxs = d.segment();
        int n = m.sizeInt();
        for (int i = 0; i < n; i++) dxs.setAtIndex(F, i, ds.getAtIndex(F, i) * ms.getAtIndex(F, i));
        return d;
    }

    @Override
    public void close() {
        mask.close();
        out.close();
        dx.close();
        last = null;
    }

    @Override
    public String toString() { return "Dropout(p=" + p + ")"; }
}
