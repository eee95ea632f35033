package dev.panamann.ops.dnnl;

import dev.panamann.ops.BatchNormOp;
import dev.panamann.ops.ConvBnReluOp;
import dev.panamann.ops.ConvGeometry;

import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_SCALE;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_SHIFT;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_MEAN;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_SCALE;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_SHIFT;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_VARIANCE;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_WORKSPACE;

import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * oneDNN convolution - batch normalization - ReLU planned as one unit. The convolution chooses
 * its output layout ({@code format_tag_any}: channel-blocked on x86) and writes into a buffer
 * of the plan; the batch normalization runs on that buffer in the same layout with the ReLU
 * fused into it ({@code dnnl_fuse_norm_relu}: the training forward also writes a workspace,
 * the ReLU's mask, that the backward reads), and only its result is reordered into the user's
 * NCHW tensor. Backward reorders the user's gradient into the blocked layout once, runs the
 * batch normalization's backward (masked by the workspace) into a blocked gradient of the
 * convolution's output, and the backward-weights and backward-data convolutions read that
 * ({@link ConvBackward}). gamma and beta are separate scale and shift tensors
 * ({@code dnnl_use_scale | dnnl_use_shift}), as in {@link DnnlBatchNormOp}; the batch mean and
 * variance are kept in buffers of the plan, and the running statistics are updated from them in
 * Java. Evaluation uses {@code dnnl_use_global_stats} with the running statistics, the ReLU
 * still fused. Everything is made once here, as in {@link DnnlConv2dOp}. Outputs and gradients
 * equal those of conv, then batch norm, then ReLU, up to rounding.
 */
public final class DnnlConvBnReluOp implements ConvBnReluOp {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final ConvGeometry g;
    private final float eps;
    private final Dnnl.Plan plan;
    private final Dnnl.Port src, wei, bias, out, dout;
    private final MemorySegment scaleMem, shiftMem, runMeanMem, runVarMem, diffScaleMem, diffShiftMem;
    /** Batch statistics of the last training forward, read by backward. */
    private final MemorySegment mean, variance;
    private final ConvBackward convBackward;
    private final Dnnl.Exec conv, bnTrain, bnInfer, bnBwd;
    private boolean trained;
    /** The shapes the plan was made for, kept so that a call checks them without allocating. */
    private final int[] xShape, wShape, fShape, yShape;

    DnnlConvBnReluOp(NativeOps ops, ConvGeometry g, float eps) {
        BatchNormOp.checkSizes(g.n(), g.f(), g.outH() * g.outW(), eps);
        this.g = g;
        this.eps = eps;
        this.xShape = g.inputShape();
        this.wShape = g.weightShape();
        this.fShape = new int[] {g.f()};
        this.yShape = g.outputShape();
        this.plan = new Dnnl.Plan(ops, "conv-bn-relu " + g);
        try {
            // forward: conv (layouts of oneDNN's choice) into the plan's buffer
            ConvForward f = new ConvForward(plan, g, null, "convolution forward");
            MemorySegment yUser = f.user.y(), yMd = f.yMd;
            src = f.src;
            wei = f.wei;
            bias = f.bias;
            MemorySegment convOut = plan.ownedMemory(yMd);
            conv = f.exec(convOut);

            // batch norm with the fused ReLU on the conv's output, in its layout
            MemorySegment chanMd = plan.md(dnnl_h.dnnl_x(), g.f());
            int flags = dnnl_h.dnnl_use_scale() | dnnl_h.dnnl_use_shift() | dnnl_h.dnnl_fuse_norm_relu();
            Dnnl.BatchNormPds bn = plan.batchNormPds(yMd, eps, flags, ", fused relu");
            MemorySegment tpd = bn.training(), ipd = bn.inference(), bpd = bn.backward();
            MemorySegment wsMd = plan.queryMd(tpd, dnnl_h.dnnl_query_workspace_md(), 0);
            if (wsMd == null) throw new IllegalStateException("oneDNN reports no workspace for the batch norm with a fused relu (" + g + ")");
            MemorySegment workspace = plan.ownedMemory(wsMd);

            scaleMem = plan.userMemory(chanMd);
            shiftMem = plan.userMemory(chanMd);
            runMeanMem = plan.userMemory(chanMd);
            runVarMem = plan.userMemory(chanMd);
            diffScaleMem = plan.userMemory(chanMd);
            diffShiftMem = plan.userMemory(chanMd);
            mean = plan.buffer((long) g.f() * Float.BYTES);
            variance = plan.buffer((long) g.f() * Float.BYTES);
            MemorySegment meanMem = plan.memory(chanMd, mean);
            MemorySegment varMem = plan.memory(chanMd, variance);
            // oneDNN 2.6 wants SHIFT in a backward with use_shift although the gradients do not depend on beta
            MemorySegment unusedShift = plan.ownedMemory(chanMd);
            out = plan.ownedOutput(yUser, yMd);
            bnTrain = plan.exec(tpd, 7, "batch normalization forward training, fused relu")
                    .arg(DNNL_ARG_SRC(), convOut).arg(DNNL_ARG_DST(), out.inner())
                    .arg(DNNL_ARG_SCALE(), scaleMem).arg(DNNL_ARG_SHIFT(), shiftMem)
                    .arg(DNNL_ARG_MEAN(), meanMem).arg(DNNL_ARG_VARIANCE(), varMem).arg(DNNL_ARG_WORKSPACE(), workspace);
            bnInfer = plan.exec(ipd, 6, "batch normalization forward inference, fused relu")
                    .arg(DNNL_ARG_SRC(), convOut).arg(DNNL_ARG_DST(), out.inner())
                    .arg(DNNL_ARG_SCALE(), scaleMem).arg(DNNL_ARG_SHIFT(), shiftMem)
                    .arg(DNNL_ARG_MEAN(), runMeanMem).arg(DNNL_ARG_VARIANCE(), runVarMem);

            // backward: user gradient -> blocked, batch norm backward through the mask, conv backward on the result
            dout = plan.port(yUser, yMd, true);
            MemorySegment dConv = plan.ownedMemory(yMd);
            bnBwd = plan.exec(bpd, 10, "batch normalization backward, fused relu")
                    .arg(DNNL_ARG_SRC(), convOut).arg(DNNL_ARG_DIFF_DST(), dout.inner())
                    .arg(DNNL_ARG_SCALE(), scaleMem).arg(DNNL_ARG_SHIFT(), unusedShift)
                    .arg(DNNL_ARG_MEAN(), meanMem).arg(DNNL_ARG_VARIANCE(), varMem).arg(DNNL_ARG_WORKSPACE(), workspace)
                    .arg(DNNL_ARG_DIFF_SRC(), dConv).arg(DNNL_ARG_DIFF_SCALE(), diffScaleMem)
                    .arg(DNNL_ARG_DIFF_SHIFT(), diffShiftMem);
            convBackward = f.backward(dConv);
            plan.finishScratchpad();
        } catch (RuntimeException | Error e) {
            plan.close();
            throw e;
        }
    }

    @Override
    public ConvGeometry geometry() { return g; }

    @Override
    public float eps() { return eps; }

    @Override
    public void forward(Tensor x, Tensor w, Tensor b, Tensor gamma, Tensor beta, Tensor y, Tensor runningMean,
                        Tensor runningVar, float momentum, boolean training) {
        if (!(x.hasShape(xShape) && w.hasShape(wShape) && b.hasShape(fShape) && gamma.hasShape(fShape) && beta.hasShape(fShape)
                && y.hasShape(yShape) && runningMean.hasShape(fShape) && runningVar.hasShape(fShape))) {
            checkForwardShapes(x, w, b, gamma, beta, y, runningMean, runningVar); // throws, naming the tensor and both shapes
        }
        if (training) BatchNormOp.checkTrainable(g.n(), g.f(), g.outH() * g.outW());
        plan.enter();
        src.in(x);
        wei.in(w);
        bias.in(b);
        plan.bind(scaleMem, gamma);
        plan.bind(shiftMem, beta);
        out.bind(y);
        conv.run();
        if (training) {
            bnTrain.run();
        } else {
            plan.bind(runMeanMem, runningMean);
            plan.bind(runVarMem, runningVar);
            bnInfer.run();
        }
        out.out();
        plan.sync();
        trained = training; // an evaluation forward overwrites the conv output backward reads
        if (training) {
            MemorySegment rm = runningMean.segment(), rv = runningVar.segment();
            for (int i = 0; i < g.f(); i++) {
                rm.setAtIndex(F, i, momentum * rm.getAtIndex(F, i) + (1 - momentum) * mean.getAtIndex(F, i));
                rv.setAtIndex(F, i, momentum * rv.getAtIndex(F, i) + (1 - momentum) * variance.getAtIndex(F, i));
            }
        }
    }

    @Override
    public void backward(Tensor x, Tensor w, Tensor gamma, Tensor d, Tensor dx, Tensor dw, Tensor db, Tensor dgamma,
                         Tensor dbeta) {
        if (!(x.hasShape(xShape) && w.hasShape(wShape) && gamma.hasShape(fShape) && d.hasShape(yShape)
                && (dx == null || dx.hasShape(xShape)) && dw.hasShape(wShape) && db.hasShape(fShape)
                && dgamma.hasShape(fShape) && dbeta.hasShape(fShape))) {
            checkBackwardShapes(x, w, gamma, d, dx, dw, db, dgamma, dbeta); // throws, naming the tensor and both shapes
        }
        if (!trained) {
            throw new IllegalStateException("conv-bn-relu backward called before a training forward (or after an evaluation forward)");
        }
        plan.enter();
        dout.in(d);
        plan.bind(scaleMem, gamma);
        plan.bind(diffScaleMem, dgamma);
        plan.bind(diffShiftMem, dbeta);
        bnBwd.run();
        convBackward.run(x, w, dx, dw, db);
        plan.sync();
    }

    @Override
    public StorageOrder weightOrder() { return convBackward.weightOrder(null); }

    @Override
    public boolean stale() { return plan.stale(); }

    @Override
    public void close() { plan.close(); }

    @Override
    public String toString() { return "DnnlConvBnReluOp(" + g + ", eps=" + eps + ")"; }
}
