package dev.panamann.ops.dnnl;

import dev.panamann.ops.Pool2dOp;
import dev.panamann.ops.PoolGeometry;

import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_WORKSPACE;

import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * oneDNN max or average pooling of plain NCHW tensors. The training forward primitive writes
 * a workspace (for max pooling: where each maximum came from) that the backward primitive
 * reads; it is allocated once in the plan. Evaluation uses a separate inference primitive,
 * which leaves that workspace alone.
 *
 * <p>oneDNN 2.6 pools NCHW data with a slow generic kernel, so when the channels fill whole
 * blocks the plan pools in the channel-blocked layout its JIT kernels use ({@code nChw16c}
 * with AVX-512, {@code nChw8c} with AVX2), with reorders from and to the user's NCHW made
 * once here and run at the edges of each call.
 */
public final class DnnlPool2dOp implements Pool2dOp {
    private final PoolGeometry g;
    private final boolean max;
    private final Dnnl.Plan plan;
    private final Dnnl.Port src, dst, diffDst, diffSrc;
    private final Dnnl.Exec fwdTrain, fwdInfer, bwd;
    private boolean trained;

    DnnlPool2dOp(NativeOps ops, PoolGeometry g, boolean max) {
        this.g = g;
        this.max = max;
        this.plan = new Dnnl.Plan(ops, (max ? "max" : "avg") + "pool2d " + g);
        try {
            long[] xDims = {g.n(), g.c(), g.h(), g.w()};
            long[] yDims = {g.n(), g.c(), g.outH(), g.outW()};
            MemorySegment xUser = plan.md(dnnl_h.dnnl_nchw(), xDims);
            MemorySegment yUser = plan.md(dnnl_h.dnnl_nchw(), yDims);
            int tag = computeTag(g.c());
            MemorySegment xMd = tag == dnnl_h.dnnl_nchw() ? xUser : plan.md(tag, xDims);
            MemorySegment yMd = tag == dnnl_h.dnnl_nchw() ? yUser : plan.md(tag, yDims);
            MemorySegment strides = plan.dims(g.stride(), g.stride());
            MemorySegment kernel = plan.dims(g.kernel(), g.kernel());
            MemorySegment pad = plan.dims(0, 0);
            // no padding: exclude vs include padding averages are the same
            int alg = max ? dnnl_h.dnnl_pooling_max() : dnnl_h.dnnl_pooling_avg_exclude_padding();

            MemorySegment td = plan.opDesc(Dnnl.POOLING_DESC_BYTES);
            Dnnl.check(dnnl_h.dnnl_pooling_forward_desc_init(td, dnnl_h.dnnl_forward_training(), alg, xMd, yMd,
                    strides, kernel, pad, pad), "dnnl_pooling_forward_desc_init " + g);
            MemorySegment tpd = plan.pd(td, null, "pooling forward training");
            MemorySegment id = plan.opDesc(Dnnl.POOLING_DESC_BYTES);
            Dnnl.check(dnnl_h.dnnl_pooling_forward_desc_init(id, dnnl_h.dnnl_forward_inference(), alg, xMd, yMd,
                    strides, kernel, pad, pad), "dnnl_pooling_forward_desc_init " + g);
            MemorySegment ipd = plan.pd(id, null, "pooling forward inference");
            MemorySegment bd = plan.opDesc(Dnnl.POOLING_DESC_BYTES);
            Dnnl.check(dnnl_h.dnnl_pooling_backward_desc_init(bd, alg, xMd, yMd, strides, kernel, pad, pad),
                    "dnnl_pooling_backward_desc_init " + g);
            MemorySegment bpd = plan.pd(bd, tpd, "pooling backward");

            src = plan.port(xUser, plan.queryMd(tpd, dnnl_h.dnnl_query_src_md(), 0), true);
            dst = plan.port(yUser, plan.queryMd(tpd, dnnl_h.dnnl_query_dst_md(), 0), false);
            diffDst = plan.port(yUser, plan.queryMd(bpd, dnnl_h.dnnl_query_diff_dst_md(), 0), true);
            diffSrc = plan.port(xUser, plan.queryMd(bpd, dnnl_h.dnnl_query_diff_src_md(), 0), false);
            MemorySegment wsMd = plan.queryMd(tpd, dnnl_h.dnnl_query_workspace_md(), 0);
            MemorySegment ws = wsMd == null ? null : plan.ownedMemory(wsMd);
            if (max && ws == null) throw new IllegalStateException("oneDNN max pooling reported no workspace for " + g);

            fwdTrain = plan.exec(tpd, 3, "pooling forward training").arg(DNNL_ARG_SRC(), src.inner()).arg(DNNL_ARG_DST(), dst.inner());
            fwdInfer = plan.exec(ipd, 2, "pooling forward inference").arg(DNNL_ARG_SRC(), src.inner()).arg(DNNL_ARG_DST(), dst.inner());
            bwd = plan.exec(bpd, 3, "pooling backward").arg(DNNL_ARG_DIFF_DST(), diffDst.inner()).arg(DNNL_ARG_DIFF_SRC(), diffSrc.inner());
            if (ws != null) {
                fwdTrain.arg(DNNL_ARG_WORKSPACE(), ws);
                bwd.arg(DNNL_ARG_WORKSPACE(), ws);
            }
            plan.finishScratchpad();
        } catch (RuntimeException | Error e) {
            plan.close();
            throw e;
        }
    }

    /** The layout pooling runs in: channel-blocked when the channels fill whole blocks, else NCHW. */
    private static int computeTag(int channels) {
        int isa = dnnl_h.dnnl_get_effective_cpu_isa();
        int avx512 = dnnl_h.dnnl_cpu_isa_avx512_core(), avx2 = dnnl_h.dnnl_cpu_isa_avx2();
        if ((isa & avx512) == avx512 && channels % 16 == 0) return dnnl_h.dnnl_aBcd16b();
        if ((isa & avx2) == avx2 && channels % 8 == 0) return dnnl_h.dnnl_aBcd8b();
        return dnnl_h.dnnl_nchw();
    }

    @Override
    public PoolGeometry geometry() { return g; }

    @Override
    public void forward(Tensor x, Tensor out, boolean training) {
        g.checkForward(x, out);
        plan.enter();
        src.in(x);
        dst.bind(out);
        (training ? fwdTrain : fwdInfer).run();
        dst.out();
        plan.sync();
        if (training) trained = true;
    }

    @Override
    public void backward(Tensor x, Tensor dout, Tensor dx) {
        g.checkBackward(x, dout, dx);
        if (!trained) {
            throw new IllegalStateException((max ? "max" : "average") + " pooling backward called before a training forward");
        }
        plan.enter();
        diffDst.in(dout);
        diffSrc.bind(dx);
        bwd.run();
        diffSrc.out();
        plan.sync();
    }

    @Override
    public boolean stale() { return plan.stale(); }

    @Override
    public void close() { plan.close(); }

    @Override
    public String toString() { return "DnnlPool2dOp(" + (max ? "max, " : "avg, ") + g + ")"; }
}
