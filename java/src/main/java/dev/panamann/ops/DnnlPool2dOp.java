package dev.panamann.ops;

import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_WORKSPACE;

import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * oneDNN max or average pooling on plain NCHW tensors. The training forward primitive writes
 * a workspace (for max pooling: where each maximum came from) that the backward primitive
 * reads; it is allocated once in the plan. Evaluation uses a separate inference primitive,
 * which leaves that workspace alone.
 */
final class DnnlPool2dOp implements Pool2dOp {
    private final PoolGeometry g;
    private final boolean max;
    private final Dnnl.Plan plan;
    private final MemorySegment srcMem, dstMem, diffDstMem, diffSrcMem;
    private final Dnnl.Exec fwdTrain, fwdInfer, bwd;
    private boolean trained;

    DnnlPool2dOp(NativeOps ops, PoolGeometry g, boolean max) {
        this.g = g;
        this.max = max;
        this.plan = new Dnnl.Plan(ops, (max ? "max" : "avg") + "pool2d " + g);
        try {
            long[] xDims = {g.n(), g.c(), g.h(), g.w()};
            long[] yDims = {g.n(), g.c(), g.outH(), g.outW()};
            MemorySegment xMd = plan.md(dnnl_h.dnnl_nchw(), xDims);
            MemorySegment yMd = plan.md(dnnl_h.dnnl_nchw(), yDims);
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

            srcMem = plan.userMemory(xMd);
            dstMem = plan.userMemory(yMd);
            diffDstMem = plan.userMemory(yMd);
            diffSrcMem = plan.userMemory(xMd);
            MemorySegment wsMd = plan.queryMd(tpd, dnnl_h.dnnl_query_workspace_md(), 0);
            MemorySegment ws = wsMd == null ? null : plan.ownedMemory(wsMd);
            if (max && ws == null) throw new IllegalStateException("oneDNN max pooling reported no workspace for " + g);

            fwdTrain = plan.exec(tpd, 3, "pooling forward training").arg(DNNL_ARG_SRC(), srcMem).arg(DNNL_ARG_DST(), dstMem);
            fwdInfer = plan.exec(ipd, 2, "pooling forward inference").arg(DNNL_ARG_SRC(), srcMem).arg(DNNL_ARG_DST(), dstMem);
            bwd = plan.exec(bpd, 3, "pooling backward").arg(DNNL_ARG_DIFF_DST(), diffDstMem).arg(DNNL_ARG_DIFF_SRC(), diffSrcMem);
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

    @Override
    public PoolGeometry geometry() { return g; }

    @Override
    public boolean isMax() { return max; }

    @Override
    public void forward(Tensor x, Tensor out, boolean training) {
        g.checkForward(x, out);
        plan.enter();
        Dnnl.bind(srcMem, x);
        Dnnl.bind(dstMem, out);
        (training ? fwdTrain : fwdInfer).run();
        plan.sync();
        if (training) trained = true;
    }

    @Override
    public void backward(Tensor dout, Tensor dx) {
        g.checkBackward(dout, dx);
        if (!trained) {
            throw new IllegalStateException((max ? "max" : "average") + " pooling backward called before a training forward");
        }
        plan.enter();
        Dnnl.bind(diffDstMem, dout);
        Dnnl.bind(diffSrcMem, dx);
        bwd.run();
        plan.sync();
    }

    @Override
    public void close() { plan.close(); }

    @Override
    public String toString() { return "DnnlPool2dOp(" + (max ? "max, " : "avg, ") + g + ")"; }
}
