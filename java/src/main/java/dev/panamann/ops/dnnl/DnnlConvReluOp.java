package dev.panamann.ops.dnnl;

import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluOp;

import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DST;

import dev.panamann.bindings.dnnl.dnnl_eltwise_desc_t;
import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * oneDNN convolution with the ReLU as its post-op, planned as one unit: the forward primitive
 * applies {@code max(0, v)} as it writes each output value, so there is no second pass over the
 * output. The output is written into a buffer of the plan in the layout the convolution chose
 * (channel-blocked on x86) and reordered into the user's NCHW tensor; the plan keeps it, and
 * backward takes the ReLU's mask from it (oneDNN's {@code relu_use_dst_for_bwd}: the gradient
 * passes where the output is &gt; 0), then runs the backward-weights and backward-data
 * convolutions on the masked gradient in the same layout. Everything is made once here, as in
 * {@link DnnlConv2dOp}. Outputs and gradients equal those of conv then ReLU.
 */
public final class DnnlConvReluOp implements ConvReluOp {
    private final ConvGeometry g;
    private final Dnnl.Plan plan;
    private final Dnnl.Port src, wei, bias, out, dout;
    private final ConvBackward convBackward;
    private final Dnnl.Exec conv, reluBwd;
    private boolean trained;
    /** The shapes the plan was made for, kept so that a call checks them without allocating. */
    private final int[] xShape, wShape, bShape, yShape;

    DnnlConvReluOp(NativeOps ops, ConvGeometry g) {
        this.g = g;
        this.xShape = g.inputShape();
        this.wShape = g.weightShape();
        this.bShape = new int[] {g.f()};
        this.yShape = g.outputShape();
        this.plan = new Dnnl.Plan(ops, "conv-relu " + g);
        try {
            // forward: conv + relu post-op, into the plan's buffer in the conv's layout
            ConvForward f = new ConvForward(plan, g, plan.reluPostOpAttr(), "convolution forward, relu post-op");
            MemorySegment yUser = f.user.y(), yMd = f.yMd;
            src = f.src;
            wei = f.wei;
            bias = f.bias;
            out = plan.ownedOutput(yUser, yMd);
            conv = f.exec(out.inner());

            // backward: relu mask from the kept output -> conv weights (and data), in the same layout
            long eltBytes = dnnl_eltwise_desc_t.layout().byteSize();
            int reluDst = dnnl_h.dnnl_eltwise_relu_use_dst_for_bwd();
            MemorySegment ed = plan.opDesc(eltBytes);
            Dnnl.check(dnnl_h.dnnl_eltwise_forward_desc_init(ed, dnnl_h.dnnl_forward_training(), reluDst, yMd, 0f, 0f),
                    "dnnl_eltwise_forward_desc_init");
            MemorySegment epd = plan.pd(ed, null, "relu forward (hint)");
            MemorySegment ebd = plan.opDesc(eltBytes);
            Dnnl.check(dnnl_h.dnnl_eltwise_backward_desc_init(ebd, reluDst, yMd, yMd, 0f, 0f), "dnnl_eltwise_backward_desc_init");
            MemorySegment ebpd = plan.pd(ebd, epd, "relu backward");
            dout = plan.port(yUser, yMd, true);
            // masked in place when dout was reordered into a buffer of the plan; the caller's dout stays as it is
            MemorySegment dConv = dout.reorder() != null ? dout.inner() : plan.ownedMemory(yMd);
            reluBwd = plan.exec(ebpd, 3, "relu backward").arg(DNNL_ARG_DST(), out.inner()).arg(DNNL_ARG_DIFF_DST(), dout.inner())
                    .arg(DNNL_ARG_DIFF_SRC(), dConv);

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
    public void forward(Tensor x, Tensor w, Tensor b, Tensor y, boolean training) {
        if (!(x.hasShape(xShape) && w.hasShape(wShape) && b.hasShape(bShape) && y.hasShape(yShape))) {
            g.checkForward(x, w, b, y); // throws, naming the tensor and both shapes
        }
        plan.enter();
        src.in(x);
        wei.in(w);
        bias.in(b);
        out.bind(y);
        conv.run();
        out.out();
        plan.sync();
        trained = training; // an evaluation forward overwrites the output backward reads
    }

    @Override
    public void backward(Tensor x, Tensor w, Tensor d, Tensor dx, Tensor dw, Tensor db) {
        if (!(x.hasShape(xShape) && w.hasShape(wShape) && d.hasShape(yShape) && (dx == null || dx.hasShape(xShape))
                && dw.hasShape(wShape) && db.hasShape(bShape))) {
            g.checkBackward(x, w, d, dx, dw, db); // throws, naming the tensor and both shapes
        }
        if (!trained) throw new IllegalStateException("conv-relu backward called before a training forward (or after an evaluation forward)");
        plan.enter();
        dout.in(d);
        reluBwd.run();
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
    public String toString() { return "DnnlConvReluOp(" + g + ")"; }
}
