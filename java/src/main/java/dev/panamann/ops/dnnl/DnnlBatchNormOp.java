package dev.panamann.ops.dnnl;

import dev.panamann.ops.BatchNormOp;

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

import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * oneDNN batch normalization over (N, C, S) data, viewed as an NCHW tensor (N, C, S, 1): the
 * 1-D form (N, D) is (N, D, 1, 1). gamma and beta are passed as separate scale and shift
 * tensors ({@code dnnl_use_scale | dnnl_use_shift}), so no copies are needed, and their
 * gradients come back the same way. The training forward primitive writes the batch mean and
 * (biased) variance into buffers of the plan, which the backward primitive reads; the running
 * statistics are updated from them in Java, since oneDNN does not keep any. Evaluation uses
 * {@code dnnl_use_global_stats} with the running statistics.
 */
public final class DnnlBatchNormOp implements BatchNormOp {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final int n, c, s;
    private final float eps;
    private final Dnnl.Plan plan;
    private final MemorySegment srcMem, dstMem, scaleMem, shiftMem, runMeanMem, runVarMem;
    private final MemorySegment diffDstMem, diffSrcMem, diffScaleMem, diffShiftMem;
    /** Batch statistics of the last training forward, read by backward. */
    private final MemorySegment mean, variance;
    private final Dnnl.Exec fwdTrain, fwdInfer, bwd;
    private boolean trained;

    DnnlBatchNormOp(NativeOps ops, int n, int c, int s, float eps) {
        BatchNormOp.checkSizes(n, c, s, eps);
        this.n = n;
        this.c = c;
        this.s = s;
        this.eps = eps;
        this.plan = new Dnnl.Plan(ops, "batchnorm (" + n + ", " + c + ", " + s + ")");
        try {
            MemorySegment dataMd = plan.md(dnnl_h.dnnl_nchw(), n, c, s, 1);
            MemorySegment chanMd = plan.md(dnnl_h.dnnl_x(), c);
            int ss = dnnl_h.dnnl_use_scale() | dnnl_h.dnnl_use_shift();

            Dnnl.BatchNormPds bn = plan.batchNormPds(dataMd, eps, ss, "");
            MemorySegment tpd = bn.training(), ipd = bn.inference(), bpd = bn.backward();

            srcMem = plan.userMemory(dataMd);
            dstMem = plan.userMemory(dataMd);
            diffDstMem = plan.userMemory(dataMd);
            diffSrcMem = plan.userMemory(dataMd);
            scaleMem = plan.userMemory(chanMd);
            shiftMem = plan.userMemory(chanMd);
            runMeanMem = plan.userMemory(chanMd);
            runVarMem = plan.userMemory(chanMd);
            diffScaleMem = plan.userMemory(chanMd);
            diffShiftMem = plan.userMemory(chanMd);
            mean = plan.buffer((long) c * Float.BYTES);
            variance = plan.buffer((long) c * Float.BYTES);
            MemorySegment meanMem = plan.memory(chanMd, mean);
            MemorySegment varMem = plan.memory(chanMd, variance);
            // oneDNN 2.6 rejects a backward with use_shift unless SHIFT is passed too
            // (invalid_arguments), although the gradients do not depend on beta; backward()
            // is not given beta, so a zero buffer of the plan stands in for it.
            MemorySegment unusedShift = plan.ownedMemory(chanMd);

            fwdTrain = plan.exec(tpd, 6, "batch normalization forward training")
                    .arg(DNNL_ARG_SRC(), srcMem).arg(DNNL_ARG_DST(), dstMem)
                    .arg(DNNL_ARG_SCALE(), scaleMem).arg(DNNL_ARG_SHIFT(), shiftMem)
                    .arg(DNNL_ARG_MEAN(), meanMem).arg(DNNL_ARG_VARIANCE(), varMem);
            fwdInfer = plan.exec(ipd, 6, "batch normalization forward inference")
                    .arg(DNNL_ARG_SRC(), srcMem).arg(DNNL_ARG_DST(), dstMem)
                    .arg(DNNL_ARG_SCALE(), scaleMem).arg(DNNL_ARG_SHIFT(), shiftMem)
                    .arg(DNNL_ARG_MEAN(), runMeanMem).arg(DNNL_ARG_VARIANCE(), runVarMem);
            bwd = plan.exec(bpd, 9, "batch normalization backward")
                    .arg(DNNL_ARG_SRC(), srcMem).arg(DNNL_ARG_DIFF_DST(), diffDstMem)
                    .arg(DNNL_ARG_SCALE(), scaleMem).arg(DNNL_ARG_SHIFT(), unusedShift)
                    .arg(DNNL_ARG_MEAN(), meanMem).arg(DNNL_ARG_VARIANCE(), varMem)
                    .arg(DNNL_ARG_DIFF_SRC(), diffSrcMem).arg(DNNL_ARG_DIFF_SCALE(), diffScaleMem)
                    .arg(DNNL_ARG_DIFF_SHIFT(), diffShiftMem);
            plan.finishScratchpad();
        } catch (RuntimeException | Error e) {
            plan.close();
            throw e;
        }
    }

    @Override public int n() { return n; }
    @Override public int c() { return c; }
    @Override public int spatial() { return s; }
    @Override public float eps() { return eps; }

    @Override
    public void forward(Tensor x, Tensor gamma, Tensor beta, Tensor out, Tensor runningMean, Tensor runningVar,
                        float momentum, boolean training) {
        checkForwardShapes(x, gamma, beta, out, runningMean, runningVar);
        if (training) BatchNormOp.checkTrainable(n, c, s);
        plan.enter();
        plan.bind(srcMem, x);
        plan.bind(dstMem, out);
        plan.bind(scaleMem, gamma);
        plan.bind(shiftMem, beta);
        if (training) {
            fwdTrain.run();
            plan.sync();
            trained = true;
            MemorySegment rm = runningMean.segment(), rv = runningVar.segment();
            for (int i = 0; i < c; i++) {
                rm.setAtIndex(F, i, momentum * rm.getAtIndex(F, i) + (1 - momentum) * mean.getAtIndex(F, i));
                rv.setAtIndex(F, i, momentum * rv.getAtIndex(F, i) + (1 - momentum) * variance.getAtIndex(F, i));
            }
        } else {
            plan.bind(runMeanMem, runningMean);
            plan.bind(runVarMem, runningVar);
            fwdInfer.run();
            plan.sync();
        }
    }

    @Override
    public void backward(Tensor x, Tensor gamma, Tensor dout, Tensor dx, Tensor dgamma, Tensor dbeta) {
        BatchNormOp.checkData(x, "batchnorm backward x", n, c, s);
        BatchNormOp.checkData(dout, "batchnorm backward dout", n, c, s);
        BatchNormOp.checkData(dx, "batchnorm backward dx", n, c, s);
        gamma.requireShape("batchnorm backward gamma", c);
        dgamma.requireShape("batchnorm backward dgamma", c);
        dbeta.requireShape("batchnorm backward dbeta", c);
        if (!trained) throw new IllegalStateException("batchnorm backward called before a training forward");
        plan.enter();
        plan.bind(srcMem, x);
        plan.bind(diffDstMem, dout);
        plan.bind(scaleMem, gamma);
        plan.bind(diffSrcMem, dx);
        plan.bind(diffScaleMem, dgamma);
        plan.bind(diffShiftMem, dbeta);
        bwd.run();
        plan.sync();
    }

    /** Batch mean of the last training forward, (C); for tests. */
    float[] batchMean() { return mean.asSlice(0, (long) c * Float.BYTES).toArray(F); }

    /** Batch (biased) variance of the last training forward, (C); for tests. */
    float[] batchVar() { return variance.asSlice(0, (long) c * Float.BYTES).toArray(F); }

    @Override
    public boolean stale() { return plan.stale(); }

    @Override
    public void close() { plan.close(); }

    @Override
    public String toString() { return "DnnlBatchNormOp(" + n + ", " + c + ", " + s + ", eps=" + eps + ")"; }
}
