package dev.panamann.layers;

import dev.panamann.tensor.Buffer;
import dev.panamann.tensor.Param;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Parametric ReLU: {@code out = x} where x &gt; 0 and {@code alpha[c] * x} elsewhere, with a
 * learnable slope per channel c (dimension 1 of the input) or one slope shared by all
 * elements. Slopes start at 0.25; the param is named "alpha" and is not regularized.
 * <ul>
 *   <li>x: (N, C) or (N, C, H, W) (any (N, C, ...)); with a shared slope, any shape</li>
 *   <li>alpha: (C), or (1) when shared</li>
 *   <li>out, dx: x's shape</li>
 * </ul>
 * Backward: {@code dx = dout * (x > 0 ? 1 : alpha[c])},
 * {@code dalpha[c] = sum over x <= 0 in channel c of dout * x}. The layer keeps a reference to
 * x between forward and backward.
 */
public final class PReLU implements Layer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Initial slope, as in He et al. 2015. */
    public static final float INITIAL_SLOPE = 0.25f;

    private final int channels;
    private final Param alpha;
    private final Buffer out = new Buffer();
    private final Buffer dx = new Buffer();
    /** dalpha accumulated on the heap (one float per channel), then copied to the grad. */
    private final float[] gradAcc;
    private Tensor x;

    /**
     * A slope per channel, param named "alpha".
     *
     * @param channels C, the size of dimension 1 of the input; 1 means one shared slope
     */
    public PReLU(int channels) {
        this(channels, "alpha");
    }

    /**
     * A slope per channel with a param name of your choice.
     *
     * @param channels C, the size of dimension 1 of the input; 1 means one shared slope
     * @param name     name of the slope param
     */
    public PReLU(int channels, String name) {
        if (channels < 1) throw new IllegalArgumentException("PReLU: channels must be >= 1, got " + channels);
        this.channels = channels;
        this.gradAcc = new float[channels];
        this.alpha = new Param(name, Tensor.full(INITIAL_SLOPE, channels), false);
    }

    /** One slope shared by all elements of an input of any shape. */
    public static PReLU shared() { return new PReLU(1); }

    /** C, or 1 when the slope is shared. */
    public int channels() { return channels; }

    /** The slope param, (C). */
    public Param alpha() { return alpha; }

    /**
     * @param x    input, (N, C, ...) or any shape when the slope is shared
     * @param mode unused
     * @return out, x's shape, owned by the layer
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        int inner = innerSize(x), c = channels, rows = x.sizeInt() / (c * inner);
        Tensor o = out.like(x);
        MemorySegment xs = x.segment(), os = o.segment(), as = alpha.value().segment();
        for (int r = 0; r < rows; r++) {
            long base = (long) r * c * inner;
            if (inner == 1) {
                // (N, C): alpha varies along the row
                for (int j = 0; j < c; j++) {
                    float v = xs.getAtIndex(F, base + j);
                    os.setAtIndex(F, base + j, v > 0f ? v : as.getAtIndex(F, j) * v);
                }
            } else {
                // (N, C, H, W): one alpha per block of H*W
                for (int j = 0; j < c; j++) {
                    float a = as.getAtIndex(F, j);
                    long start = base + (long) j * inner;
                    for (int i = 0; i < inner; i++) {
                        float v = xs.getAtIndex(F, start + i);
                        os.setAtIndex(F, start + i, v > 0f ? v : a * v);
                    }
                }
            }
        }
        this.x = x;
        return o;
    }

    /**
     * @param dout upstream gradient, x's shape
     * @return dx, x's shape, owned by the layer; also sets dalpha, (C)
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (x == null) throw new IllegalStateException("PReLU.backward called before forward (or after close)");
        x.checkOpen();
        dout.requireShape("PReLU.backward: dout", x.shape());
        int inner = innerSize(x), c = channels, rows = x.sizeInt() / (c * inner);
        Tensor d = dx.like(x);
        MemorySegment xs = x.segment(), ds = dout.segment(), dxs = d.segment();
        MemorySegment as = alpha.value().segment(), gs = alpha.grad().segment();
        float[] g = gradAcc;
        java.util.Arrays.fill(g, 0f);
        for (int r = 0; r < rows; r++) {
            long base = (long) r * c * inner;
            if (inner == 1) {
                for (int j = 0; j < c; j++) {
                    float v = xs.getAtIndex(F, base + j), dv = ds.getAtIndex(F, base + j);
                    boolean pos = v > 0f;
                    dxs.setAtIndex(F, base + j, pos ? dv : as.getAtIndex(F, j) * dv);
                    g[j] += pos ? 0f : dv * v;
                }
            } else {
                for (int j = 0; j < c; j++) {
                    float a = as.getAtIndex(F, j);
                    long start = base + (long) j * inner;
                    double sum = 0;
                    for (int i = 0; i < inner; i++) {
                        float v = xs.getAtIndex(F, start + i), dv = ds.getAtIndex(F, start + i);
                        boolean pos = v > 0f;
                        dxs.setAtIndex(F, start + i, pos ? dv : a * dv);
                        sum += pos ? 0f : dv * v;
                    }
                    g[j] += (float) sum;
                }
            }
        }
        MemorySegment.copy(g, 0, gs, F, 0, c);
        return d;
    }

    @Override
    public List<Param> params() { return List.of(alpha); }

    @Override
    public void close() {
        out.close();
        dx.close();
        alpha.close();
        x = null;
    }

    @Override
    public String toString() { return channels == 1 ? "PReLU(shared)" : "PReLU(" + channels + ")"; }

    /**
     * Number of consecutive elements sharing one slope: the whole tensor when shared,
     * otherwise the product of the dimensions after C.
     */
    private int innerSize(Tensor x) {
        if (channels == 1) return Math.max(1, x.sizeInt());
        if (x.rank() < 2 || x.dim(1) != channels) {
            throw new IllegalArgumentException("PReLU: input must be (N, " + channels + ", ...) to match alpha of shape ["
                    + channels + "] but has shape " + x.shapeString());
        }
        int inner = 1;
        for (int i = 2; i < x.rank(); i++) inner *= x.dim(i);
        return Math.max(1, inner);
    }
}
