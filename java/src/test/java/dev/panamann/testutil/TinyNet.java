package dev.panamann.testutil;

import dev.panamann.data.Dataset;
import dev.panamann.tensor.Param;
import dev.panamann.models.Model;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A small classifier for the tests of the training code, written directly with tensors and
 * {@link Ops#gemm}: softmax regression {@code x W1 + b1} when {@code hidden} is 0, otherwise
 * {@code relu(x W1 + b1) W2 + b2}. Loss: softmax cross-entropy plus {@code 0.5 * reg * sum(W^2)}.
 * Buffers are reused while the batch size holds.
 */
public final class TinyNet implements Model {
    private final Ops ops;
    private final int d, h, c;
    private final float reg;
    private final List<Param> params = new ArrayList<>();
    private final Param w1, b1, w2, b2;
    private int n = -1;
    private Tensor hid, scores, dscores, dhid;

    /**
     * @param ops    backend for the matrix products
     * @param d      input size (each example is flattened to d values)
     * @param hidden hidden size, or 0 for a linear classifier
     * @param c      number of classes
     * @param reg    L2 strength
     * @param std    weights start from N(0, std^2), biases from 0
     * @param rng    generator for the weights
     */
    public TinyNet(Ops ops, int d, int hidden, int c, float reg, float std, Rng rng) {
        this.ops = ops;
        this.d = d;
        this.h = hidden;
        this.c = c;
        this.reg = reg;
        int out1 = hidden > 0 ? hidden : c;
        w1 = add(new Param("W1", Tensor.randn(rng, std, d, out1), true));
        b1 = add(new Param("b1", Tensor.zeros(out1), false));
        if (hidden > 0) {
            w2 = add(new Param("W2", Tensor.randn(rng, std, hidden, c), true));
            b2 = add(new Param("b2", Tensor.zeros(c), false));
        } else {
            w2 = null;
            b2 = null;
        }
    }

    private Param add(Param p) {
        params.add(p);
        return p;
    }

    private void buffers(int batch) {
        if (batch == n) return;
        freeBuffers();
        n = batch;
        scores = Tensor.zeros(n, c);
        dscores = Tensor.zeros(n, c);
        if (h > 0) {
            hid = Tensor.zeros(n, h);
            dhid = Tensor.zeros(n, h);
        }
    }

    private Tensor forward(Tensor x) {
        int batch = x.dim(0);
        buffers(batch);
        if (h > 0) {
            ops.gemm(false, false, batch, h, d, 1f, x, w1.value(), 0f, hid);
            addBias(hid, b1.value(), batch, h);
            for (long i = 0; i < hid.size(); i++) hid.setFlat(i, Math.max(0f, hid.getFlat(i)));
            ops.gemm(false, false, batch, c, h, 1f, hid, w2.value(), 0f, scores);
            addBias(scores, b2.value(), batch, c);
        } else {
            ops.gemm(false, false, batch, c, d, 1f, x, w1.value(), 0f, scores);
            addBias(scores, b1.value(), batch, c);
        }
        return scores;
    }

    private static void addBias(Tensor t, Tensor b, int rows, int cols) {
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t.setFlat((long) i * cols + j, t.getFlat((long) i * cols + j) + b.getFlat(j));
    }

    private static void colSum(Tensor t, Tensor out, int rows, int cols) {
        out.fill(0f);
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) out.setFlat(j, out.getFlat(j) + t.getFlat((long) i * cols + j));
    }

    @Override
    public Tensor scores(Tensor x) { return forward(x); }

    @Override
    public float loss(Tensor x, int[] y) {
        int batch = x.dim(0);
        forward(x);
        double loss = 0;
        for (int i = 0; i < batch; i++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) max = Math.max(max, scores.getFlat((long) i * c + j));
            double sum = 0;
            for (int j = 0; j < c; j++) sum += Math.exp(scores.getFlat((long) i * c + j) - max);
            loss += Math.log(sum) - (scores.getFlat((long) i * c + y[i]) - max);
            for (int j = 0; j < c; j++) {
                double p = Math.exp(scores.getFlat((long) i * c + j) - max) / sum;
                dscores.setFlat((long) i * c + j, (float) ((p - (j == y[i] ? 1 : 0)) / batch));
            }
        }
        loss /= batch;
        if (h > 0) {
            ops.gemm(true, false, h, c, batch, 1f, hid, dscores, 0f, w2.grad());
            colSum(dscores, b2.grad(), batch, c);
            ops.gemm(false, true, batch, h, c, 1f, dscores, w2.value(), 0f, dhid);
            for (long i = 0; i < dhid.size(); i++) if (hid.getFlat(i) <= 0f) dhid.setFlat(i, 0f);
            ops.gemm(true, false, d, h, batch, 1f, x, dhid, 0f, w1.grad());
            colSum(dhid, b1.grad(), batch, h);
        } else {
            ops.gemm(true, false, d, c, batch, 1f, x, dscores, 0f, w1.grad());
            colSum(dscores, b1.grad(), batch, c);
        }
        for (Param p : params) {
            if (!p.regularized()) continue;
            Tensor w = p.value(), g = p.grad();
            double sq = 0;
            for (long i = 0; i < w.size(); i++) {
                float v = w.getFlat(i);
                sq += (double) v * v;
                g.setFlat(i, g.getFlat(i) + reg * v);
            }
            loss += 0.5 * reg * sq;
        }
        return (float) loss;
    }

    @Override
    public List<Param> params() { return params; }

    @Override
    public int numClasses() { return c; }

    private void freeBuffers() {
        for (Tensor t : new Tensor[] {hid, scores, dscores, dhid}) if (t != null) t.close();
    }

    @Override
    public void close() {
        freeBuffers();
        params.forEach(Param::close);
    }

    /**
     * Gaussian blobs: class k is centred at a random point (spread {@code sep}) with unit noise,
     * so that a linear classifier can learn them.
     *
     * @param n   number of examples
     * @param d   features per example
     * @param c   number of classes
     * @param sep distance scale of the class centres
     */
    public static Dataset blobs(Rng rng, int n, int d, int c, float sep) {
        return blobs(rng, n, centres(rng, d, c, sep));
    }

    /** Examples around the given class centres (so that train and val can share them). */
    public static Dataset blobs(Rng rng, int n, float[][] centres) {
        int c = centres.length, d = centres[0].length;
        Tensor x = Tensor.zeros(n, d);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(c);
            for (int j = 0; j < d; j++) x.setFlat((long) i * d + j, centres[y[i]][j] + (float) rng.nextGaussian());
        }
        return new Dataset(x, y);
    }

    /** Random class centres for {@link #blobs(Rng, int, float[][])}. */
    public static float[][] centres(Rng rng, int d, int c, float sep) {
        float[][] centres = new float[c][d];
        for (float[] ct : centres) for (int j = 0; j < d; j++) ct[j] = (float) (rng.nextGaussian() * sep);
        return centres;
    }
}
