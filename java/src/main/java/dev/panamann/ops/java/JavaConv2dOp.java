package dev.panamann.ops.java;

import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Pure-Java convolution by im2col and matrix products, one image at a time.
 *
 * <p>With K = C*KH*KW and P = OH*OW, each image's receptive fields are unrolled into the
 * columns of a (K, P) matrix {@code cols}; then
 * <pre>
 *   out_n   = W (F, K) * cols (K, P) + b                 forward
 *   dW     += dout_n (F, P) * cols^T (P, K)               backward, summed over images
 *   db      = sum of dout over n and P
 *   dcols   = W^T (K, F) * dout_n (F, P),  dx_n = col2im(dcols)
 * </pre>
 * The products run on {@link JavaOps#gemm}; im2col and col2im are split over the input
 * channels on its threads. The (K, P) buffers are made once with the plan and reused.
 */
public final class JavaConv2dOp implements Conv2dOp {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final JavaOps ops;
    private final ConvGeometry g;
    private final int k, p;
    private final float[] img, cols, dcols;
    private final MemorySegment colsSeg, dcolsSeg;
    private final double[] bsum;
    private boolean closed;

    JavaConv2dOp(JavaOps ops, ConvGeometry g) {
        this.ops = ops;
        this.g = g;
        this.k = Math.multiplyExact(g.c() * g.kh(), g.kw());
        this.p = Math.multiplyExact(g.outH(), g.outW());
        this.img = new float[Math.multiplyExact(g.c(), g.h() * g.w())];
        this.cols = new float[Math.multiplyExact(k, p)];
        this.dcols = new float[cols.length];
        this.colsSeg = MemorySegment.ofArray(cols);
        this.dcolsSeg = MemorySegment.ofArray(dcols);
        this.bsum = new double[g.f()];
    }

    @Override
    public ConvGeometry geometry() { return g; }

    @Override
    public void forward(Tensor x, Tensor w, Tensor b, Tensor out) {
        g.checkForward(x, w, b, out);
        checkOpen();
        int f = g.f();
        long imgBytes = (long) img.length * Float.BYTES, outFloats = (long) f * p;
        MemorySegment xs = x.segment(), ws = w.segment(), bs = b.segment(), os = out.segment();
        for (int n = 0; n < g.n(); n++) {
            MemorySegment.copy(xs, F, n * imgBytes, img, 0, img.length);
            im2col();
            MemorySegment on = os.asSlice(n * outFloats * Float.BYTES, outFloats * Float.BYTES);
            for (int fi = 0; fi < f; fi++) {
                float bias = bs.getAtIndex(F, fi);
                for (int j = 0; j < p; j++) on.setAtIndex(F, (long) fi * p + j, bias);
            }
            ops.gemm(false, false, f, p, k, 1f, ws, colsSeg, 1f, on);
        }
    }

    @Override
    public void backward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db) {
        g.checkBackward(x, w, dout, dx, dw, db);
        checkOpen();
        int f = g.f();
        long imgBytes = (long) img.length * Float.BYTES, outFloats = (long) f * p;
        MemorySegment xs = x.segment(), ws = w.segment(), ds = dout.segment();
        MemorySegment dxs = dx == null ? null : dx.segment(), dws = dw.segment(), dbs = db.segment();
        java.util.Arrays.fill(bsum, 0);
        for (int n = 0; n < g.n(); n++) {
            MemorySegment dn = ds.asSlice(n * outFloats * Float.BYTES, outFloats * Float.BYTES);
            for (int fi = 0; fi < f; fi++) {
                double s = 0;
                for (int j = 0; j < p; j++) s += dn.getAtIndex(F, (long) fi * p + j);
                bsum[fi] += s;
            }
            MemorySegment.copy(xs, F, n * imgBytes, img, 0, img.length);
            im2col();
            // dW (F, K) (+)= dout_n (F, P) * cols^T (P, K)
            ops.gemm(false, true, f, k, p, 1f, dn, colsSeg, n == 0 ? 0f : 1f, dws);
            if (dxs != null) {
                // dcols (K, P) = W^T (K, F) * dout_n (F, P)
                ops.gemm(true, false, k, p, f, 1f, ws, dn, 0f, dcolsSeg);
                col2im();
                MemorySegment.copy(img, 0, dxs, F, n * imgBytes, img.length);
            }
        }
        for (int fi = 0; fi < f; fi++) dbs.setAtIndex(F, fi, (float) bsum[fi]);
    }

    /** Unrolls {@link #img} (C, H, W) into {@link #cols} (K, P), zero outside the input. */
    private void im2col() {
        int c = g.c(), h = g.h(), w = g.w(), kh = g.kh(), kw = g.kw(), st = g.stride(), pad = g.pad();
        int oh = g.outH(), ow = g.outW();
        ops.parallelFor(c, (long) kh * kw * p, (from, to) -> {
            for (int ch = from; ch < to; ch++) {
                for (int ky = 0; ky < kh; ky++) {
                    for (int kx = 0; kx < kw; kx++) {
                        int row = ((ch * kh + ky) * kw + kx) * p;
                        for (int oy = 0; oy < oh; oy++) {
                            int iy = oy * st - pad + ky;
                            int dst = row + oy * ow;
                            if (iy < 0 || iy >= h) {
                                java.util.Arrays.fill(cols, dst, dst + ow, 0f);
                                continue;
                            }
                            int src = (ch * h + iy) * w;
                            for (int ox = 0; ox < ow; ox++) {
                                int ix = ox * st - pad + kx;
                                cols[dst + ox] = ix >= 0 && ix < w ? img[src + ix] : 0f;
                            }
                        }
                    }
                }
            }
        });
    }

    /** Sums {@link #dcols} (K, P) back into {@link #img} (C, H, W): the adjoint of im2col. */
    private void col2im() {
        int c = g.c(), h = g.h(), w = g.w(), kh = g.kh(), kw = g.kw(), st = g.stride(), pad = g.pad();
        int oh = g.outH(), ow = g.outW();
        ops.parallelFor(c, (long) kh * kw * p, (from, to) -> {
            java.util.Arrays.fill(img, from * h * w, to * h * w, 0f);
            for (int ch = from; ch < to; ch++) {
                for (int ky = 0; ky < kh; ky++) {
                    for (int kx = 0; kx < kw; kx++) {
                        int row = ((ch * kh + ky) * kw + kx) * p;
                        for (int oy = 0; oy < oh; oy++) {
                            int iy = oy * st - pad + ky;
                            if (iy < 0 || iy >= h) continue;
                            int src = row + oy * ow;
                            int dst = (ch * h + iy) * w;
                            for (int ox = 0; ox < ow; ox++) {
                                int ix = ox * st - pad + kx;
                                if (ix >= 0 && ix < w) img[dst + ix] += dcols[src + ox];
                            }
                        }
                    }
                }
            }
        });
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("conv2d plan " + g + " is closed");
    }

    @Override
    public void close() { closed = true; }

    @Override
    public String toString() { return "JavaConv2dOp(" + g + ")"; }
}
