package dev.panamann.ops.java;

import dev.panamann.ops.Pool2dOp;
import dev.panamann.ops.PoolGeometry;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Pure-Java max or average pooling over NCHW input, split over the N*C planes. A training
 * forward of max pooling records, for each output, which input of its window was the maximum
 * (the first one on ties); backward routes each upstream gradient there. Average pooling
 * spreads {@code dout / (kernel * kernel)} over the window.
 */
public final class JavaPool2dOp implements Pool2dOp {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final JavaOps ops;
    private final PoolGeometry g;
    private final boolean max;
    /** For max pooling: index within its input plane of each output's maximum, (N*C*OH*OW). */
    private final int[] argmax;
    private boolean trained, closed;

    JavaPool2dOp(JavaOps ops, PoolGeometry g, boolean max) {
        this.ops = ops;
        this.g = g;
        this.max = max;
        this.argmax = max ? new int[Math.multiplyExact(g.n() * g.c(), g.outH() * g.outW())] : null;
    }

    @Override
    public PoolGeometry geometry() { return g; }

    @Override
    public void forward(Tensor x, Tensor out, boolean training) {
        g.checkForward(x, out);
        checkOpen();
        MemorySegment xs = x.segment(), os = out.segment();
        int h = g.h(), w = g.w(), oh = g.outH(), ow = g.outW(), k = g.kernel(), st = g.stride();
        int inPlane = h * w, outPlane = oh * ow;
        boolean keep = training && max;
        float inv = 1f / (k * k);
        ops.parallelFor(JavaOps.shareable(xs) && JavaOps.shareable(os), g.n() * g.c(), (long) outPlane * k * k, (from, to) -> {
            for (int p = from; p < to; p++) {
                long xi = (long) p * inPlane, oi = (long) p * outPlane;
                for (int oy = 0; oy < oh; oy++) {
                    for (int ox = 0; ox < ow; ox++) {
                        int start = oy * st * w + ox * st;
                        float r;
                        if (max) {
                            int best = start;
                            float m = xs.getAtIndex(F, xi + start);
                            for (int ky = 0; ky < k; ky++) {
                                for (int kx = 0; kx < k; kx++) {
                                    int idx = start + ky * w + kx;
                                    float v = xs.getAtIndex(F, xi + idx);
                                    // without a branch: which input of a window wins is a coin flip
                                    boolean more = v > m;
                                    best = more ? idx : best;
                                    m = more ? v : m;
                                }
                            }
                            if (keep) argmax[(int) oi + oy * ow + ox] = best;
                            r = m;
                        } else {
                            float sum = 0;
                            for (int ky = 0; ky < k; ky++) {
                                for (int kx = 0; kx < k; kx++) sum += xs.getAtIndex(F, xi + start + ky * w + kx);
                            }
                            r = sum * inv;
                        }
                        os.setAtIndex(F, oi + oy * ow + ox, r);
                    }
                }
            }
        });
        if (training) trained = true;
    }

    @Override
    public void backward(Tensor x, Tensor dout, Tensor dx) {
        g.checkBackward(x, dout, dx);
        checkOpen();
        if (!trained) {
            throw new IllegalStateException((max ? "max" : "average") + " pooling backward called before a training forward");
        }
        MemorySegment ds = dout.segment(), dxs = dx.segment();
        int h = g.h(), w = g.w(), oh = g.outH(), ow = g.outW(), k = g.kernel(), st = g.stride();
        int inPlane = h * w, outPlane = oh * ow;
        float inv = 1f / (k * k);
        ops.parallelFor(JavaOps.shareable(ds) && JavaOps.shareable(dxs), g.n() * g.c(), (long) outPlane * k * k, (from, to) -> {
            for (int p = from; p < to; p++) {
                long xi = (long) p * inPlane, oi = (long) p * outPlane;
                dxs.asSlice(xi * Float.BYTES, (long) inPlane * Float.BYTES).fill((byte) 0);
                for (int o = 0; o < outPlane; o++) {
                    float d = ds.getAtIndex(F, oi + o);
                    if (max) {
                        long idx = xi + argmax[(int) oi + o];
                        dxs.setAtIndex(F, idx, dxs.getAtIndex(F, idx) + d);
                    } else {
                        int start = (o / ow) * st * w + (o % ow) * st;
                        float v = d * inv;
                        for (int ky = 0; ky < k; ky++) {
                            for (int kx = 0; kx < k; kx++) {
                                long idx = xi + start + ky * w + kx;
                                dxs.setAtIndex(F, idx, dxs.getAtIndex(F, idx) + v);
                            }
                        }
                    }
                }
            }
        });
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("pool2d plan " + g + " is closed");
    }

    @Override
    public void close() { closed = true; }

    @Override
    public String toString() { return "JavaPool2dOp(" + (max ? "max, " : "avg, ") + g + ")"; }
}
