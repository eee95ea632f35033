package dev.panamann.ops.dnnl;

import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_BIAS;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_WEIGHTS;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_WEIGHTS;

import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The backward-weights and backward-data convolutions of a fused conv plan (conv-relu,
 * conv-relu-pool), made once on the plan and run on the gradient of the convolution's output
 * that the plan holds in the forward's layout. Backward weights reads the training forward's
 * reordered input when the layouts agree instead of reordering x again.
 */
final class ConvBackward {
    /** The input for backward weights; null when that primitive reads the forward's reordered input. */
    private final Dnnl.Port bwSrc;
    private final Dnnl.Port bwDiffWei, bwDiffBias, bdWei, bdDiffSrc;
    private final Dnnl.Exec bwdWeights, bwdData;
    /** The forward's weight port, whose layout a weight held between steps is in. */
    private final Dnnl.Port forwardWei;
    /** Reorders the gradient of the output into backward weights' layout; null when it reads it as it is. */
    private final Dnnl.Exec diffDstReorder;

    /**
     * @param cpd   the forward convolution's primitive descriptor (the hint)
     * @param src   the forward's input port, {@code srcMd} its layout
     * @param yMd   the layout of the convolution's output and of {@code dConv}
     * @param dConv the plan's memory holding the gradient of the convolution's output
     */
    ConvBackward(Dnnl.Plan plan, ConvGeometry g, MemorySegment cpd, int alg, MemorySegment xAny, MemorySegment wAny,
                 MemorySegment xUser, MemorySegment wUser, MemorySegment bUser, MemorySegment yMd, MemorySegment strides,
                 MemorySegment pad, Dnnl.Port src, MemorySegment srcMd, Dnnl.Port wei, MemorySegment dConv) {
        MemorySegment bwd = plan.opDesc(Dnnl.CONVOLUTION_DESC_BYTES);
        Dnnl.check(dnnl_h.dnnl_convolution_backward_weights_desc_init(bwd, alg, xAny, wAny, bUser, yMd, strides, pad, pad),
                "dnnl_convolution_backward_weights_desc_init " + g);
        MemorySegment bwpd = plan.pd(bwd, cpd, "convolution backward weights");
        MemorySegment bwDiffDst = dConv;
        Dnnl.Exec diffDstReorder = null;
        if (Dnnl.impl(plan, bwpd).startsWith("ref")) {
            // oneDNN 2.6 has no fast backward weights for some channel counts with the forward's
            // output layout (e.g. 8 -> 16 channels: plain input, 16-blocked gradient; the
            // reference loop takes a second a step): let it pick the gradient's layout and reorder
            MemorySegment yAny = plan.md(dnnl_h.dnnl_format_tag_any(), g.n(), g.f(), g.outH(), g.outW());
            MemorySegment retry = plan.opDesc(Dnnl.CONVOLUTION_DESC_BYTES);
            Dnnl.check(dnnl_h.dnnl_convolution_backward_weights_desc_init(retry, alg, xAny, wAny, bUser, yAny, strides, pad, pad),
                    "dnnl_convolution_backward_weights_desc_init " + g);
            MemorySegment retryPd = plan.pd(retry, cpd, "convolution backward weights");
            if (!Dnnl.impl(plan, retryPd).startsWith("ref")) {
                bwpd = retryPd;
                MemorySegment want = plan.queryMd(bwpd, dnnl_h.dnnl_query_diff_dst_md(), 0);
                if (dnnl_h.dnnl_memory_desc_equal(want, yMd) != 1) {
                    bwDiffDst = plan.ownedMemory(want);
                    diffDstReorder = plan.exec(plan.reorderPd(yMd, want), 2, "reorder")
                            .arg(dnnl_h.DNNL_ARG_FROM(), dConv).arg(dnnl_h.DNNL_ARG_TO(), bwDiffDst);
                }
            }
        }
        this.diffDstReorder = diffDstReorder;
        MemorySegment bwSrcMd = plan.queryMd(bwpd, dnnl_h.dnnl_query_src_md(), 0);
        boolean reuseSrc = src.reorder() != null && dnnl_h.dnnl_memory_desc_equal(srcMd, bwSrcMd) == 1;
        bwSrc = reuseSrc ? null : plan.port(xUser, bwSrcMd, true);
        bwDiffWei = plan.port(wUser, plan.queryMd(bwpd, dnnl_h.dnnl_query_diff_weights_md(), 0), false);
        bwDiffBias = plan.port(bUser, plan.queryMd(bwpd, dnnl_h.dnnl_query_diff_weights_md(), 1), false);
        bwdWeights = plan.exec(bwpd, 4, "convolution backward weights").arg(DNNL_ARG_SRC(), reuseSrc ? src.inner() : bwSrc.inner())
                .arg(DNNL_ARG_DIFF_DST(), bwDiffDst).arg(DNNL_ARG_DIFF_WEIGHTS(), bwDiffWei.inner())
                .arg(DNNL_ARG_DIFF_BIAS(), bwDiffBias.inner());

        MemorySegment bdd = plan.opDesc(Dnnl.CONVOLUTION_DESC_BYTES);
        Dnnl.check(dnnl_h.dnnl_convolution_backward_data_desc_init(bdd, alg, xAny, wAny, yMd, strides, pad, pad),
                "dnnl_convolution_backward_data_desc_init " + g);
        MemorySegment bdpd = plan.pd(bdd, cpd, "convolution backward data");
        bdWei = plan.port(wUser, plan.queryMd(bdpd, dnnl_h.dnnl_query_weights_md(), 0), true);
        bdWei.alsoFrom(wei, plan.queryMd(cpd, dnnl_h.dnnl_query_weights_md(), 0)); // weights held in the forward's layout
        forwardWei = wei;
        bdDiffSrc = plan.port(xUser, plan.queryMd(bdpd, dnnl_h.dnnl_query_diff_src_md(), 0), false);
        bwdData = plan.exec(bdpd, 3, "convolution backward data").arg(DNNL_ARG_DIFF_DST(), dConv)
                .arg(DNNL_ARG_WEIGHTS(), bdWei.inner()).arg(DNNL_ARG_DIFF_SRC(), bdDiffSrc.inner());
    }

    /** How backward weights wrote dW and backward data read w in the last call ({@link Dnnl.Port#mode()}, for tests). */
    String weightModes() { return "dW " + bwDiffWei.mode() + ", backward-data w " + bdWei.mode(); }

    /**
     * The order both the forward and backward weights read and write the weights in, and the
     * tiles' too when there are {@code tiles} (may be null); null when they differ or need none
     * (each port finds its order once and keeps it).
     */
    StorageOrder weightOrder(ConvPoolTiles tiles) {
        StorageOrder o = forwardWei.order();
        boolean shared = o != null && o.equals(bwDiffWei.order()) && (tiles == null || o.equals(tiles.diffWeightsOrder()));
        return shared ? o : null;
    }

    /** dW and db, and dx unless it is null, from the gradient in the plan's {@code dConv}. */
    void run(Tensor x, Tensor w, Tensor dx, Tensor dw, Tensor db) {
        if (bwSrc != null) bwSrc.in(x);
        else x.checkOpen(); // the forward's reordered copy of x is used
        bwDiffWei.bind(dw);
        bwDiffBias.bind(db);
        if (diffDstReorder != null) diffDstReorder.run();
        bwdWeights.run();
        bwDiffWei.out();
        bwDiffBias.out();
        if (dx != null) {
            bdWei.in(w);
            bdDiffSrc.bind(dx);
            bwdData.run();
            bdDiffSrc.out();
        }
    }
}
