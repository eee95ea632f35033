package dev.panamann.ops.java;

import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.PoolGeometry;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Pure-Java convolution by im2col and matrix products on the backend's {@link GemmKernel}.
 *
 * <p>With K = C*KH*KW and P = OH*OW, each image's receptive fields are unrolled into the
 * columns of a (K, P) matrix {@code cols}; then
 * <pre>
 *   out_n   = W (F, K) * cols (K, P) + b                 forward
 *   dW^T   += cols (K, P) * dout_n^T (P, F)               backward, summed over images
 *   db      = sum of dout over n and P
 *   dcols   = W^T (K, F) * dout_n (F, P),  dx_n = col2im(dcols)
 * </pre>
 * The images are split into one contiguous range per thread of the backend; each thread works
 * on its own buffers (made on first use and reused), unrolls its images straight into the
 * kernel's packed panels for the forward product, and sums its own share of dW, which the
 * calling thread adds up at the end.
 */
public final class JavaConv2dOp implements Conv2dOp {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final JavaOps ops;
    private final GemmKernel kernel;
    private final ConvGeometry g;
    private final int k, p, nr, pPanels, fPanels, ldp, ldf;
    /** W (F, K), W^T (K, F) and the bias, copied from the tensors at each call. */
    private final float[] w, wt, bias;
    private Work[] works = new Work[0];
    private boolean closed;

    /** One thread's buffers. */
    private final class Work {
        final float[] img = new float[Math.multiplyExact(g.c(), g.h() * g.w())];
        /** cols in the kernel's panels (forward) or row-major (K, P) (backward). */
        final float[] cols = new float[Math.max(Panels.size(k, p, nr), Math.multiplyExact(k, p))];
        /** out_n (F, ldp) in the forward, dcols (K, ldp) in the backward. */
        final float[] c = new float[Math.multiplyExact(Math.max(k, g.f()), ldp)];
        final float[] dout = new float[Math.multiplyExact(g.f(), p)];
        /** dout_n packed: as b (F, P) of the dcols product and as b (P, F) of the dW^T product. */
        final float[] doutP = new float[Panels.size(g.f(), p, nr)], doutT = new float[Panels.size(p, g.f(), nr)];
        final float[] dwt = new float[Math.multiplyExact(k, ldf)];
        final double[] bsum = new double[g.f()];
        /** One image's pooled output or its gradient, with a pool (made on first use). */
        float[] pooled = new float[0];
    }

    JavaConv2dOp(JavaOps ops, ConvGeometry g) {
        this.ops = ops;
        this.kernel = ops.kernel();
        this.g = g;
        this.k = Math.multiplyExact(g.c() * g.kh(), g.kw());
        this.p = Math.multiplyExact(g.outH(), g.outW());
        this.nr = kernel.panelWidth();
        this.pPanels = Panels.count(p, nr);
        this.fPanels = Panels.count(g.f(), nr);
        this.ldp = Math.multiplyExact(pPanels, nr);
        this.ldf = Math.multiplyExact(fPanels, nr);
        this.w = new float[Math.multiplyExact(g.f(), k)];
        this.wt = new float[w.length];
        this.bias = new float[g.f()];
    }

    @Override
    public ConvGeometry geometry() { return g; }

    /** The number of tasks for this call, with a buffer set for each. */
    private int tasks() {
        int tasks = Math.min(ops.threads(), g.n());
        if (works.length < tasks) {
            Work[] grown = java.util.Arrays.copyOf(works, tasks);
            for (int t = works.length; t < tasks; t++) grown[t] = new Work();
            works = grown;
        }
        return tasks;
    }

    @Override
    public void forward(Tensor x, Tensor wTensor, Tensor b, Tensor out) {
        forward(x, wTensor, b, out, null, null);
    }

    /**
     * {@code out = maxpool(relu(conv(x, w) + b))} over {@code pool}, pooled straight from each
     * image's product: for each pooled output, {@code argmax} gets the index within its (OH, OW)
     * plane of the window's maximum (the first on ties), or -1 where the output is 0 (the ReLU
     * cut it, so no gradient flows back), as {@link #backward(Tensor, Tensor, PoolGeometry, int[], Tensor, Tensor, Tensor, Tensor)} reads it.
     */
    void forwardReluPool(Tensor x, Tensor wTensor, Tensor b, PoolGeometry pool, Tensor out, int[] argmax) {
        out.requireShape("conv-relu-pool forward out", pool.outputShape());
        forward(x, wTensor, b, out, pool, argmax);
    }

    /** The forward; with a pool, out is pooled (see {@link #forwardReluPool}), else out is (N, F, OH, OW). */
    private void forward(Tensor x, Tensor wTensor, Tensor b, Tensor out, PoolGeometry pool, int[] argmax) {
        if (pool == null) g.checkForward(x, wTensor, b, out);
        else checkPool(pool, argmax);
        checkOpen();
        MemorySegment.copy(wTensor.segment(), F, 0, w, 0, w.length);
        MemorySegment.copy(b.segment(), F, 0, bias, 0, bias.length);
        int tasks = tasks(), n = g.n(), f = g.f(), imgLen = works[0].img.length;
        MemorySegment xs = x.segment(), os = out.segment();
        ops.parallelTasks(JavaOps.shareable(xs) && JavaOps.shareable(os), tasks, t -> {
            Work wk = works[t];
            for (int i = n * t / tasks, end = n * (t + 1) / tasks; i < end; i++) {
                MemorySegment.copy(xs, F, (long) i * imgLen * Float.BYTES, wk.img, 0, imgLen);
                im2col(wk.img, wk.cols, true);
                kernel.multiplyAddPacked(w, wk.cols, pPanels, wk.c, ldp, f, k, false);
                for (int fi = 0; fi < f; fi++) {
                    float bv = bias[fi];
                    int ci = fi * ldp;
                    if (pool == null) {
                        for (int j = ci; j < ci + p; j++) wk.c[j] += bv;
                        MemorySegment.copy(wk.c, ci, os, F, ((long) i * f + fi) * p * Float.BYTES, p);
                    } else {
                        for (int j = ci; j < ci + p; j++) wk.c[j] = Math.max(wk.c[j] + bv, 0f);
                    }
                }
                if (pool != null) maxPool(wk, pool, i, argmax, os);
            }
        });
    }

    /** Max-pools the (F, OH, OW) ReLU output of image i in wk.c into out and argmax. */
    private void maxPool(Work wk, PoolGeometry pool, int i, int[] argmax, MemorySegment os) {
        int f = g.f(), ow = g.outW(), ph = pool.outH(), pw = pool.outW(), pk = pool.kernel(), ps = pool.stride(), pp = ph * pw;
        if (wk.pooled.length < f * pp) wk.pooled = new float[f * pp];
        float[] c = wk.c, pooled = wk.pooled;
        for (int fi = 0; fi < f; fi++) {
            int ci = fi * ldp, o = fi * pp, ai = (i * f + fi) * pp;
            for (int py = 0; py < ph; py++) {
                for (int px = 0; px < pw; px++, o++) {
                    int start = py * ps * ow + px * ps, best = start;
                    float m = c[ci + start];
                    for (int ky = 0; ky < pk; ky++) {
                        for (int kx = 0; kx < pk; kx++) {
                            int idx = start + ky * ow + kx;
                            float v = c[ci + idx];
                            // without a branch: which input of a window wins is a coin flip
                            boolean more = v > m;
                            best = more ? idx : best;
                            m = more ? v : m;
                        }
                    }
                    pooled[o] = m;
                    argmax[ai + o - fi * pp] = m > 0f ? best : -1;
                }
            }
        }
        MemorySegment.copy(pooled, 0, os, F, (long) i * f * pp * Float.BYTES, f * pp);
    }

    private void checkPool(PoolGeometry pool, int[] argmax) {
        if (!pool.equals(PoolGeometry.over(g, pool.kernel(), pool.stride()))) {
            throw new IllegalArgumentException("pooling " + pool + " is not over the output of " + g);
        }
        if (argmax.length != pool.n() * pool.c() * pool.outH() * pool.outW()) {
            throw new IllegalArgumentException("argmax holds " + argmax.length + " ints, the pooled output " + java.util.Arrays.toString(pool.outputShape()));
        }
    }

    @Override
    public void backward(Tensor x, Tensor wTensor, Tensor dout, Tensor dx, Tensor dw, Tensor db) {
        g.checkBackward(x, wTensor, dout, dx, dw, db);
        backward(x, wTensor, null, null, dout, dx, dw, db);
    }

    /**
     * The backward of {@link #forwardReluPool}: dout (N, F, PH, PW) goes back through the max
     * pooling and the ReLU by the forward's argmax, then through the convolution.
     */
    void backward(Tensor x, Tensor wTensor, PoolGeometry pool, int[] argmax, Tensor dout, Tensor dx, Tensor dw, Tensor db) {
        if (pool != null) {
            checkPool(pool, argmax);
            dout.requireShape("conv-relu-pool backward dout", pool.outputShape());
        }
        checkOpen();
        int tasks = tasks(), n = g.n(), f = g.f(), imgLen = works[0].img.length;
        MemorySegment.copy(wTensor.segment(), F, 0, w, 0, w.length);
        for (int fi = 0; fi < f; fi++) {
            for (int kk = 0; kk < k; kk++) wt[kk * f + fi] = w[fi * k + kk];
        }
        MemorySegment xs = x.segment(), ds = dout.segment(), dxs = dx == null ? null : dx.segment();
        ops.parallelTasks(JavaOps.shareable(xs) && JavaOps.shareable(ds) && JavaOps.shareable(dxs), tasks, t -> {
            Work wk = works[t];
            java.util.Arrays.fill(wk.dwt, 0f);
            java.util.Arrays.fill(wk.bsum, 0);
            for (int i = n * t / tasks, end = n * (t + 1) / tasks; i < end; i++) {
                if (pool == null) {
                    MemorySegment.copy(ds, F, (long) i * f * p * Float.BYTES, wk.dout, 0, f * p);
                } else {
                    unpool(wk, pool, i, argmax, ds);
                }
                for (int fi = 0; fi < f; fi++) wk.bsum[fi] += sum(wk.dout, fi * p, p);
                MemorySegment.copy(xs, F, (long) i * imgLen * Float.BYTES, wk.img, 0, imgLen);
                im2col(wk.img, wk.cols, false);
                // dW^T (K, F) += cols (K, P) * dout_n^T (P, F)
                Panels.packTransposed(wk.dout, 0, p, f, nr, wk.doutT);
                kernel.multiplyAddPacked(wk.cols, wk.doutT, fPanels, wk.dwt, ldf, k, p, true);
                if (dxs != null) {
                    // dcols (K, P) = W^T (K, F) * dout_n (F, P)
                    Panels.packRows(wk.dout, 0, f, p, nr, wk.doutP);
                    kernel.multiplyAddPacked(wt, wk.doutP, pPanels, wk.c, ldp, k, f, false);
                    col2im(wk.c, wk.img);
                    MemorySegment.copy(wk.img, 0, dxs, F, (long) i * imgLen * Float.BYTES, imgLen);
                }
            }
        });
        MemorySegment dws = dw.segment(), dbs = db.segment();
        for (int fi = 0; fi < f; fi++) {
            double s = 0;
            for (int t = 0; t < tasks; t++) s += works[t].bsum[fi];
            dbs.setAtIndex(F, fi, (float) s);
            for (int kk = 0; kk < k; kk++) {
                float v = 0;
                for (int t = 0; t < tasks; t++) v += works[t].dwt[kk * ldf + fi];
                dws.setAtIndex(F, (long) fi * k + kk, v);
            }
        }
    }

    /** Routes the pooled gradient of image i back to the maxima of its windows, into wk.dout (F, P). */
    private void unpool(Work wk, PoolGeometry pool, int i, int[] argmax, MemorySegment ds) {
        int f = g.f(), pp = pool.outH() * pool.outW();
        if (wk.pooled.length < f * pp) wk.pooled = new float[f * pp];
        MemorySegment.copy(ds, F, (long) i * f * pp * Float.BYTES, wk.pooled, 0, f * pp);
        java.util.Arrays.fill(wk.dout, 0f);
        for (int fi = 0; fi < f; fi++) {
            int base = fi * p, o = fi * pp, ai = (i * f + fi) * pp;
            for (int q = 0; q < pp; q++) {
                int at = argmax[ai + q];
                if (at >= 0) wk.dout[base + at] += wk.pooled[o + q];
            }
        }
    }

    /** The sum of v[from, from + len), in double, four partial sums to overlap the additions. */
    private static double sum(float[] v, int from, int len) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int j = from, end = from + len;
        for (; j + 4 <= end; j += 4) {
            s0 += v[j];
            s1 += v[j + 1];
            s2 += v[j + 2];
            s3 += v[j + 3];
        }
        for (; j < end; j++) s0 += v[j];
        return (s0 + s1) + (s2 + s3);
    }

    /**
     * Unrolls img (C, H, W) into cols (K, P), zero outside the input: in the kernel's panels
     * when {@code panels}, else row-major.
     */
    private void im2col(float[] img, float[] cols, boolean panels) {
        int c = g.c(), h = g.h(), w = g.w(), kh = g.kh(), kw = g.kw(), st = g.stride(), pad = g.pad();
        int oh = g.outH(), ow = g.outW();
        for (int ch = 0; ch < c; ch++) {
            for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++) {
                    int row = (ch * kh + ky) * kw + kx;
                    // output columns whose input column lies inside the image (stride 1: one run)
                    int lo = Math.min(ow, Math.max(0, pad - kx)), hi = Math.max(lo, Math.min(ow, w + pad - kx));
                    for (int oy = 0; oy < oh; oy++) {
                        int iy = oy * st - pad + ky, j = oy * ow;
                        if (iy < 0 || iy >= h) {
                            fill(cols, panels, row, j, ow);
                            continue;
                        }
                        int src = (ch * h + iy) * w;
                        if (st == 1) {
                            fill(cols, panels, row, j, lo);
                            put(cols, panels, row, j + lo, img, src + lo - pad + kx, hi - lo);
                            fill(cols, panels, row, j + hi, ow - hi);
                        } else {
                            for (int ox = 0; ox < ow; ox++) {
                                int ix = ox * st - pad + kx;
                                cols[index(panels, row, j + ox)] = ix >= 0 && ix < w ? img[src + ix] : 0f;
                            }
                        }
                    }
                }
            }
        }
    }

    /** Index of element (row, column j) of cols. */
    private int index(boolean panels, int row, int j) {
        return panels ? (j / nr) * k * nr + row * nr + j % nr : row * p + j;
    }

    /** Copies {@code len} floats from src into row {@code row} of cols from column j. */
    private void put(float[] cols, boolean panels, int row, int j, float[] src, int from, int len) {
        while (len > 0) {
            int run = panels ? Math.min(len, nr - j % nr) : len;
            System.arraycopy(src, from, cols, index(panels, row, j), run);
            j += run;
            from += run;
            len -= run;
        }
    }

    /** Zeros {@code len} floats of row {@code row} of cols from column j. */
    private void fill(float[] cols, boolean panels, int row, int j, int len) {
        while (len > 0) {
            int run = panels ? Math.min(len, nr - j % nr) : len;
            int d = index(panels, row, j);
            java.util.Arrays.fill(cols, d, d + run, 0f);
            j += run;
            len -= run;
        }
    }

    /** Sums dcols (K, P), rows {@link #ldp} apart, into img (C, H, W): the adjoint of im2col. */
    private void col2im(float[] dcols, float[] img) {
        int c = g.c(), h = g.h(), w = g.w(), kh = g.kh(), kw = g.kw(), st = g.stride(), pad = g.pad();
        int oh = g.outH(), ow = g.outW();
        java.util.Arrays.fill(img, 0f);
        for (int ch = 0; ch < c; ch++) {
            for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++) {
                    int row = ((ch * kh + ky) * kw + kx) * ldp;
                    int lo = Math.min(ow, Math.max(0, pad - kx)), hi = Math.max(lo, Math.min(ow, w + pad - kx));
                    for (int oy = 0; oy < oh; oy++) {
                        int iy = oy * st - pad + ky;
                        if (iy < 0 || iy >= h) continue;
                        int src = row + oy * ow;
                        int dst = (ch * h + iy) * w;
                        if (st == 1) {
                            int d = dst - pad + kx;
                            for (int ox = lo; ox < hi; ox++) img[d + ox] += dcols[src + ox];
                        } else {
                            for (int ox = 0; ox < ow; ox++) {
                                int ix = ox * st - pad + kx;
                                if (ix >= 0 && ix < w) img[dst + ix] += dcols[src + ox];
                            }
                        }
                    }
                }
            }
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("conv2d plan " + g + " is closed");
    }

    @Override
    public void close() { closed = true; }

    @Override
    public String toString() { return "JavaConv2dOp(" + g + ")"; }
}
