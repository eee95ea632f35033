package dev.panamann.layers;

import dev.panamann.tensor.Buffer;
import dev.panamann.tensor.Param;

import dev.panamann.ops.Elementwise;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * Fully-connected layer {@code out = x W + b}.
 *
 * <p>The input may have any shape (N, d1, ..., dk); it is viewed (not copied) as a matrix
 * (N, D) with D = d1 * ... * dk, which must equal the layer's input dimension.
 * <ul>
 *   <li>x: (N, d1, ..., dk), viewed as (N, D)</li>
 *   <li>W: (D, M), regularized</li>
 *   <li>b: (M), not regularized</li>
 *   <li>out: (N, M)</li>
 * </ul>
 * Backward: {@code dx = dout W^T} (reshaped to x's shape), {@code dW = x^T dout},
 * {@code db = } column sums of dout. The matrix products run on the backend's gemm. The first
 * layer of a network has no use for dx: {@link #setInputGradient setInputGradient(false)} skips
 * that product (a third of the layer's gemm work).
 *
 * <p>The layer keeps a reference to x between forward and backward (do not change x in
 * between), and reuses its out and dx buffers while the batch shape holds.
 */
public final class Affine implements Layer {
    private final Ops ops;
    private final Param w;
    private final Param b;
    private final int inDim;
    private final int outDim;
    private final Buffer out = new Buffer();
    private final Buffer dx = new Buffer();
    private Tensor x;
    private int n;
    private boolean inputGradient = true;
    private boolean weightGradient = true;
    private Tensor dout;

    /**
     * A layer with W drawn from N(0, weightScale^2) and b = 0, params named "W" and "b".
     *
     * @param ops         backend for the matrix products
     * @param inDim       D, the number of input features
     * @param outDim      M, the number of outputs
     * @param rng         generator for W
     * @param weightScale standard deviation of W's entries
     */
    public Affine(Ops ops, int inDim, int outDim, Rng rng, float weightScale) {
        this(ops, inDim, outDim, rng, weightScale, "W", "b");
    }

    /**
     * As {@link #Affine(Ops, int, int, Rng, float)} with the params named, e.g. "W1" and "b1".
     *
     * @param ops         backend for the matrix products
     * @param inDim       D, the number of input features
     * @param outDim      M, the number of outputs
     * @param rng         generator for W
     * @param weightScale standard deviation of W's entries
     * @param wName       name of the weight param
     * @param bName       name of the bias param
     */
    public Affine(Ops ops, int inDim, int outDim, Rng rng, float weightScale, String wName, String bName) {
        this(ops, Tensor.randn(rng, weightScale, checkDims(inDim, outDim)[0], outDim), Tensor.zeros(outDim), wName, bName);
    }

    /**
     * A layer with the given weights, which it owns from now on (closes them on close).
     *
     * @param ops backend for the matrix products
     * @param w   weights, (D, M)
     * @param b   bias, (M)
     */
    public Affine(Ops ops, Tensor w, Tensor b) {
        this(ops, w, b, "W", "b");
    }

    /**
     * A layer with the given, owned, weights and param names.
     *
     * @param ops   backend for the matrix products
     * @param w     weights, (D, M)
     * @param b     bias, (M)
     * @param wName name of the weight param
     * @param bName name of the bias param
     */
    public Affine(Ops ops, Tensor w, Tensor b, String wName, String bName) {
        w.checkOpen();
        b.checkOpen();
        if (w.rank() != 2) {
            throw new IllegalArgumentException("Affine: W must be (D, M) but has shape " + w.shapeString());
        }
        if (!b.hasShape(w.dim(1))) {
            throw new IllegalArgumentException("Affine: b must have shape [" + w.dim(1) + "] to match W of shape "
                    + w.shapeString() + " but has shape " + b.shapeString());
        }
        this.ops = ops;
        this.inDim = w.dim(0);
        this.outDim = w.dim(1);
        this.w = new Param(wName, w, true);
        this.b = new Param(bName, b, false);
    }

    /** D, the input dimension. */
    public int inDim() { return inDim; }

    /** M, the output dimension. */
    public int outDim() { return outDim; }

    /** The weight param, (D, M). */
    public Param weight() { return w; }

    /** The bias param, (M). */
    public Param bias() { return b; }

    /**
     * @param x    input, (N, d1, ..., dk) with d1 * ... * dk = D
     * @param mode unused (an affine layer is the same in both modes)
     * @return out, (N, M), owned by the layer
     */
    @Override
    public Tensor forward(Tensor x, Mode mode) {
        x.checkOpen();
        int rows = rowsOf(x);
        Tensor o = out.get(rows, outDim);
        ops.gemm(false, false, rows, outDim, inDim, 1f, x, w.value(), 0f, o);
        Elementwise.addToRows(o.segment(), b.value().segment(), rows, outDim);
        this.x = x;
        this.n = rows;
        return o;
    }

    /**
     * @param dout upstream gradient, (N, M)
     * @return dx, x's shape (N, d1, ..., dk), owned by the layer, or null when switched off by
     *         {@link #setInputGradient}; also sets dW (D, M) and db (M)
     */
    @Override
    public Tensor backward(Tensor dout) {
        if (x == null) throw new IllegalStateException("Affine.backward called before forward");
        x.checkOpen();
        if (dout.rank() != 2 || dout.dim(0) != n || dout.dim(1) != outDim) { // checked without a varargs array per step
            dout.requireShape("Affine.backward: dout", n, outDim);
        }
        if (weightGradient) ops.gemm(true, false, inDim, outDim, n, 1f, x, dout, 0f, w.grad());
        this.dout = dout;
        Elementwise.columnSums(dout.segment(), n, outDim, b.grad().segment());
        if (!inputGradient) return null;
        Tensor d = dx.like(x);
        ops.gemm(false, true, n, inDim, outDim, 1f, dout, w.value(), 0f, d);
        return d;
    }

    /**
     * Whether {@link #backward} computes the gradient for the input (default true). The first
     * layer of a network has no use for it; switching it off there skips the product
     * {@code dout W^T}, a third of the layer's gemm work (PyTorch skips it too: the data needs
     * no gradient).
     *
     * @param compute false to skip dx; backward then returns null
     * @return this layer
     */
    public Affine setInputGradient(boolean compute) {
        this.inputGradient = compute;
        return this;
    }

    /**
     * Whether {@link #backward} computes dW (default true). A data-parallel replica
     * ({@code models.DataParallel}) switches it off and the dW of the whole batch is computed
     * from every replica's {@link #lastInput} and {@link #lastOutputGradient} at once, instead of
     * one dW per replica that is then summed.
     *
     * @param compute false to leave W's gradient untouched in backward
     * @return this layer
     */
    public Affine setWeightGradient(boolean compute) {
        this.weightGradient = compute;
        return this;
    }

    /**
     * The input of the last forward, as given (N, d1, ..., dk): its memory is the (N, D) matrix
     * dW is computed from. Null before the first forward.
     */
    public Tensor lastInput() { return x; }

    /** The upstream gradient of the last backward, (N, M) (the caller's tensor), or null before the first. */
    public Tensor lastOutputGradient() { return dout; }

    @Override
    public List<Param> params() { return List.of(w, b); }

    @Override
    public void close() {
        out.close();
        dx.close();
        w.close();
        b.close();
        x = null;
        dout = null;
    }

    @Override
    public String toString() { return "Affine(" + inDim + " -> " + outDim + ")"; }

    /** N, after checking that x is (N, d1, ..., dk) with d1 * ... * dk = D. */
    private int rowsOf(Tensor x) {
        if (x.rank() < 2) {
            throw new IllegalArgumentException("Affine: input must be (N, d1, ..., dk) but has shape " + x.shapeString()
                    + "; W has shape " + w.value().shapeString());
        }
        long d = 1;
        for (int i = 1; i < x.rank(); i++) d *= x.dim(i);
        if (d != inDim) {
            int[] s = x.shape();
            throw new IllegalArgumentException("Affine: input of shape " + Arrays.toString(s) + " flattens to (" + s[0]
                    + ", " + d + ") but W has shape " + w.value().shapeString() + " (expects " + inDim + " features)");
        }
        return x.dim(0);
    }

    private static int[] checkDims(int inDim, int outDim) {
        if (inDim < 1 || outDim < 1) {
            throw new IllegalArgumentException("Affine: dimensions must be >= 1, got inDim " + inDim + ", outDim " + outDim);
        }
        return new int[] {inDim, outDim};
    }
}
