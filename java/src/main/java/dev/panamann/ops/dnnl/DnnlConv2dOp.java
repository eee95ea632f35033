package dev.panamann.ops.dnnl;

import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;

import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_BIAS;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_BIAS;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_WEIGHTS;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_WEIGHTS;

import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * oneDNN convolution: forward, backward-data and backward-weights primitives made once for
 * one {@link ConvGeometry}.
 *
 * <p>oneDNN picks the memory layouts it computes fastest in ({@code format_tag_any}: on AVX2
 * typically channel-blocked {@code nChw8c} activations and {@code OIhw8i8o}-like weights).
 * The user's tensors stay plain NCHW / OIHW; where the chosen layout differs, a reorder
 * primitive and a buffer in that layout are made here, once, and run at the edges of each call.
 * All primitives share one user-managed scratchpad owned by the plan.
 *
 * <p>{@code -Dpanamann.dnnl.convLayout=plain} makes every convolution compute in the user's
 * plain NCHW / OIHW layouts instead (no reorders), to measure what the chosen layouts gain;
 * the default is {@code any}. It is read when a plan is made.
 */
public final class DnnlConv2dOp implements Conv2dOp {
    private final ConvGeometry g;
    private final Dnnl.Plan plan;
    // forward
    private final Dnnl.Port src, wei, bias, dst;
    private final Dnnl.Exec fwd;
    // backward weights (gives the bias gradient too)
    private final Dnnl.Port bwSrc, bwDiffDst, bwDiffWei, bwDiffBias;
    private final Dnnl.Exec bwdWeights;
    // backward data
    private final Dnnl.Port bdDiffDst, bdWei, bdDiffSrc;
    private final Dnnl.Exec bwdData;

    DnnlConv2dOp(NativeOps ops, ConvGeometry g) {
        this.g = g;
        this.plan = new Dnnl.Plan(ops, "conv2d " + g);
        try {
            int any = dnnl_h.dnnl_format_tag_any();
            Dnnl.ConvMds user = Dnnl.ConvMds.of(plan, g);
            MemorySegment xUser = user.x(), wUser = user.w(), bUser = user.b(), yUser = user.y();
            boolean plain = plainLayout();
            MemorySegment xAny = plain ? xUser : plan.md(any, user.xDims());
            MemorySegment wAny = plain ? wUser : plan.md(any, user.wDims());
            MemorySegment yAny = plain ? yUser : plan.md(any, user.yDims());
            MemorySegment strides = plan.dims(g.stride(), g.stride());
            MemorySegment padL = plan.dims(g.pad(), g.pad());
            // oneDNN checks (h + padL + padR - kh) / stride + 1 == outH with floor division,
            // so the symmetric pad is consistent even when the last window leaves rows unused.
            MemorySegment padR = plan.dims(g.pad(), g.pad());
            int alg = dnnl_h.dnnl_convolution_direct();

            MemorySegment fd = plan.opDesc(Dnnl.CONVOLUTION_DESC_BYTES);
            Dnnl.check(dnnl_h.dnnl_convolution_forward_desc_init(fd, dnnl_h.dnnl_forward_training(), alg,
                    xAny, wAny, bUser, yAny, strides, padL, padR), "dnnl_convolution_forward_desc_init " + g);
            MemorySegment fpd = plan.pd(fd, null, "convolution forward");

            MemorySegment bwd = plan.opDesc(Dnnl.CONVOLUTION_DESC_BYTES);
            Dnnl.check(dnnl_h.dnnl_convolution_backward_weights_desc_init(bwd, alg, xAny, wAny, bUser, yAny,
                    strides, padL, padR), "dnnl_convolution_backward_weights_desc_init " + g);
            MemorySegment bwpd = plan.pd(bwd, fpd, "convolution backward weights");

            MemorySegment bdd = plan.opDesc(Dnnl.CONVOLUTION_DESC_BYTES);
            Dnnl.check(dnnl_h.dnnl_convolution_backward_data_desc_init(bdd, alg, xAny, wAny, yAny,
                    strides, padL, padR), "dnnl_convolution_backward_data_desc_init " + g);
            MemorySegment bdpd = plan.pd(bdd, fpd, "convolution backward data");

            // the layouts oneDNN chose, and the ports that reorder to / from the user's
            src = plan.port(xUser, plan.queryMd(fpd, dnnl_h.dnnl_query_src_md(), 0), true);
            wei = plan.port(wUser, plan.queryMd(fpd, dnnl_h.dnnl_query_weights_md(), 0), true);
            bias = plan.port(bUser, plan.queryMd(fpd, dnnl_h.dnnl_query_weights_md(), 1), true);
            dst = plan.port(yUser, plan.queryMd(fpd, dnnl_h.dnnl_query_dst_md(), 0), false);
            fwd = plan.exec(fpd, 4, "convolution forward")
                    .arg(DNNL_ARG_SRC(), src.inner()).arg(DNNL_ARG_WEIGHTS(), wei.inner())
                    .arg(DNNL_ARG_BIAS(), bias.inner()).arg(DNNL_ARG_DST(), dst.inner());

            bwSrc = plan.port(xUser, plan.queryMd(bwpd, dnnl_h.dnnl_query_src_md(), 0), true);
            bwDiffDst = plan.port(yUser, plan.queryMd(bwpd, dnnl_h.dnnl_query_diff_dst_md(), 0), true);
            bwDiffWei = plan.port(wUser, plan.queryMd(bwpd, dnnl_h.dnnl_query_diff_weights_md(), 0), false);
            bwDiffBias = plan.port(bUser, plan.queryMd(bwpd, dnnl_h.dnnl_query_diff_weights_md(), 1), false);
            bwdWeights = plan.exec(bwpd, 4, "convolution backward weights")
                    .arg(DNNL_ARG_SRC(), bwSrc.inner()).arg(DNNL_ARG_DIFF_DST(), bwDiffDst.inner())
                    .arg(DNNL_ARG_DIFF_WEIGHTS(), bwDiffWei.inner()).arg(DNNL_ARG_DIFF_BIAS(), bwDiffBias.inner());

            // dout is read by both backward primitives: reorder it once when they want the same layout
            MemorySegment bdDiffDstMd = plan.queryMd(bdpd, dnnl_h.dnnl_query_diff_dst_md(), 0);
            MemorySegment bwDiffDstMd = plan.queryMd(bwpd, dnnl_h.dnnl_query_diff_dst_md(), 0);
            bdDiffDst = dnnl_h.dnnl_memory_desc_equal(bdDiffDstMd, bwDiffDstMd) == 1 ? null
                    : plan.port(yUser, bdDiffDstMd, true);
            bdWei = plan.port(wUser, plan.queryMd(bdpd, dnnl_h.dnnl_query_weights_md(), 0), true);
            bdWei.alsoFrom(wei, plan.queryMd(fpd, dnnl_h.dnnl_query_weights_md(), 0)); // weights held in the forward's layout
            bdDiffSrc = plan.port(xUser, plan.queryMd(bdpd, dnnl_h.dnnl_query_diff_src_md(), 0), false);
            bwdData = plan.exec(bdpd, 3, "convolution backward data")
                    .arg(DNNL_ARG_DIFF_DST(), (bdDiffDst == null ? bwDiffDst : bdDiffDst).inner())
                    .arg(DNNL_ARG_WEIGHTS(), bdWei.inner()).arg(DNNL_ARG_DIFF_SRC(), bdDiffSrc.inner());
            plan.finishScratchpad();
        } catch (RuntimeException | Error e) {
            plan.close();
            throw e;
        }
    }

    /** The layout setting: {@code any} (default) or {@code plain}; anything else is an error. */
    static boolean plainLayout() {
        String v = System.getProperty("panamann.dnnl.convLayout", "any");
        return switch (v) {
            case "any" -> false;
            case "plain" -> true;
            default -> throw new IllegalArgumentException("panamann.dnnl.convLayout must be 'any' or 'plain', got '" + v + "'");
        };
    }

    @Override
    public ConvGeometry geometry() { return g; }

    @Override
    public void forward(Tensor x, Tensor w, Tensor b, Tensor out) {
        g.checkForward(x, w, b, out);
        plan.enter();
        src.in(x);
        wei.in(w);
        bias.in(b);
        dst.bind(out);
        fwd.run();
        dst.out();
        plan.sync();
    }

    @Override
    public void backward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db) {
        g.checkBackward(x, w, dout, dx, dw, db);
        plan.enter();
        bwSrc.in(x);
        bwDiffDst.in(dout);
        bwDiffWei.bind(dw);
        bwDiffBias.bind(db);
        bwdWeights.run();
        bwDiffWei.out();
        bwDiffBias.out();
        if (dx != null) {
            if (bdDiffDst != null) bdDiffDst.in(dout);
            bdWei.in(w);
            bdDiffSrc.bind(dx);
            bwdData.run();
            bdDiffSrc.out();
        }
        plan.sync();
    }

    @Override
    public StorageOrder weightOrder() {
        StorageOrder o = wei.order(); // each port finds its order once and keeps it
        return o != null && o.equals(bwDiffWei.order()) ? o : null;
    }

    @Override
    public boolean stale() { return plan.stale(); }

    @Override
    public void close() { plan.close(); }

    /** The implementations oneDNN chose for forward, backward weights and backward data (for tests). */
    java.util.List<String> implementations() {
        return java.util.List.of(fwd.impl(), bwdWeights.impl(), bwdData.impl());
    }

    @Override
    public String toString() { return "DnnlConv2dOp(" + g + ")"; }
}
