package dev.panamann.ops.dnnl;

import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_BIAS;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_WEIGHTS;

import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.ops.ConvGeometry;
import java.lang.foreign.MemorySegment;

/**
 * The training forward convolution of a fused conv plan (conv-relu, conv-relu-pool,
 * conv-bn-relu): layouts of oneDNN's choice, the ports from the user's x, w and b into them,
 * and the backward convolutions over the same layouts ({@link #backward}).
 */
final class ConvForward {
    /** The user-side (plain) layouts of x, w, b and y. */
    final Dnnl.ConvMds user;
    /** The inputs in the convolution's layouts (reordered when they differ from the user's). */
    final Dnnl.Port src, wei, bias;
    /** The layout oneDNN chose for the convolution's output. */
    final MemorySegment yMd;
    private final Dnnl.Plan plan;
    private final ConvGeometry g;
    /** The forward primitive descriptor, the input's "any" layout and the input layout oneDNN chose. */
    final MemorySegment pd, xAny, srcMd;
    /** The weights' "any" layout, the strides and the padding as {@code dnnl_dims_t}. */
    final MemorySegment wAny, strides, pad;
    private final String what;

    /**
     * @param attr the primitive's attributes (e.g. {@link Dnnl.Plan#reluPostOpAttr()}), or null for the plan's
     * @param what the primitive's name in messages
     */
    ConvForward(Dnnl.Plan plan, ConvGeometry g, MemorySegment attr, String what) {
        this.plan = plan;
        this.g = g;
        this.what = what;
        int any = dnnl_h.dnnl_format_tag_any();
        user = Dnnl.ConvMds.of(plan, g);
        xAny = plan.md(any, user.xDims());
        wAny = plan.md(any, user.wDims());
        MemorySegment yAny = plan.md(any, user.yDims());
        strides = plan.dims(g.stride(), g.stride());
        pad = plan.dims(g.pad(), g.pad());
        MemorySegment cd = plan.opDesc(Dnnl.CONVOLUTION_DESC_BYTES);
        Dnnl.check(dnnl_h.dnnl_convolution_forward_desc_init(cd, dnnl_h.dnnl_forward_training(), dnnl_h.dnnl_convolution_direct(),
                xAny, wAny, user.b(), yAny, strides, pad, pad), "dnnl_convolution_forward_desc_init " + g);
        pd = attr == null ? plan.pd(cd, null, what) : plan.pd(cd, null, attr, what);
        yMd = plan.queryMd(pd, dnnl_h.dnnl_query_dst_md(), 0);
        srcMd = plan.queryMd(pd, dnnl_h.dnnl_query_src_md(), 0);
        src = plan.port(user.x(), srcMd, true);
        wei = plan.port(user.w(), plan.queryMd(pd, dnnl_h.dnnl_query_weights_md(), 0), true);
        bias = plan.port(user.b(), plan.queryMd(pd, dnnl_h.dnnl_query_weights_md(), 1), true);
    }

    /** The forward primitive writing into {@code dst} (a memory of layout {@link #yMd}). */
    Dnnl.Exec exec(MemorySegment dst) {
        return plan.exec(pd, 4, what).arg(DNNL_ARG_SRC(), src.inner()).arg(DNNL_ARG_WEIGHTS(), wei.inner())
                .arg(DNNL_ARG_BIAS(), bias.inner()).arg(DNNL_ARG_DST(), dst);
    }

    /** The backward convolutions, reading the gradient of the output from {@code dConv} (layout {@link #yMd}). */
    ConvBackward backward(MemorySegment dConv) {
        return new ConvBackward(plan, g, pd, dnnl_h.dnnl_convolution_direct(), xAny, wAny, user.x(), user.w(), user.b(), yMd,
                strides, pad, src, srcMd, wei, dConv);
    }
}
