package dev.panamann.ops.dnnl;

import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluPoolOp;
import dev.panamann.ops.PoolGeometry;

import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_WORKSPACE;

import dev.panamann.bindings.dnnl.dnnl_eltwise_desc_t;
import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * oneDNN convolution - ReLU - max pooling planned as one unit. The convolution chooses its
 * output layout ({@code format_tag_any}: channel-blocked on x86); pooling runs in that layout,
 * forward and backward, so the activations are never reordered: only the input, the weights
 * and the pooled output (and their gradients) cross between the user's NCHW / OIHW tensors and
 * oneDNN's layouts. Everything is made once here, as in {@link DnnlConv2dOp}.
 *
 * <p>The ReLU runs on the pooled output, a quarter of the conv output for 2x2 pooling (in place;
 * as the pooling's post-op it made the pooling forward slower than pooling plus this pass):
 * {@code maxpool(relu(c)) = relu(maxpool(c))} exactly, since both are the largest value of
 * the window or 0. Backward, the ReLU's mask is the pooled output itself (a routed gradient
 * reaches a conv output only through its window's maximum, whose ReLU derivative is
 * {@code pooled > 0}), so the gradient is masked at the pooled size and then routed by the
 * pooling backward: no pass over the conv-sized activations and no buffers for them beyond
 * the conv output and its gradient. Outputs and gradients are those of conv, then ReLU, then
 * pooling, to the bit.
 *
 * <p>Training runs the convolution and the pooling in tiles of images when the batch's
 * convolution output is larger than about 1 MB ({@link ConvPoolTiles}): each tile's convolution
 * output is pooled while it is still in cache, and backward runs per tile as well, the weight
 * and bias gradients summed over the tiles (equal to the untiled ones up to rounding). With
 * more than one thread this is done only when idle OpenMP threads spin before they sleep
 * ({@code -Dpanamann.ompWait=default} or {@code active}): under the default passive wait
 * policy each of the tiles' several times more parallel regions wakes the sleeping threads,
 * which cost more than the cache saved (measured on 2 cores, docs/benchmarks.md), and a plan
 * made then does not build the tiles at all. Inference runs over the whole batch at once.
 */
public final class DnnlConvReluPoolOp implements ConvReluPoolOp {
    private final ConvGeometry g;
    private final PoolGeometry p;
    private final Dnnl.Plan plan;
    private final Dnnl.Port src, wei, bias, out, dout;
    private final ConvBackward convBackward;
    private final Dnnl.Exec conv, relu, poolTrain, poolInfer, poolBwd, reluBwd;
    private boolean trained;
    /** The training passes in tiles of images; null when training runs over the whole batch at once. */
    private final ConvPoolTiles tiles;
    private final NativeOps ops;
    /** True when the tiles are used with several threads too (OpenMP threads spin between regions). */
    private final boolean tileWithTeam;
    /** The shapes the plan was made for, kept so that a call checks them without allocating. */
    private final int[] xShape, wShape, bShape, pShape;

    DnnlConvReluPoolOp(NativeOps ops, ConvGeometry g, int poolKernel, int poolStride) {
        this(ops, g, poolKernel, poolStride, ConvPoolTiles.imagesPerTile(g));
    }

    /**
     * @param tile images per training tile (the last tile takes the rest); 0 runs training over
     *             the whole batch at once, and a tile of at least the batch is one tile of it
     */
    DnnlConvReluPoolOp(NativeOps ops, ConvGeometry g, int poolKernel, int poolStride, int tile) {
        if (tile < 0) throw new IllegalArgumentException("images per tile must be >= 0, got " + tile);
        this.g = g;
        this.ops = ops;
        this.tileWithTeam = !NativeLibraries.ompThreadsSleep();
        this.p = PoolGeometry.over(g, poolKernel, poolStride);
        this.xShape = g.inputShape();
        this.wShape = g.weightShape();
        this.bShape = new int[] {g.f()};
        this.pShape = p.outputShape();
        this.plan = new Dnnl.Plan(ops, "conv-relu-pool " + g + ", pool " + poolKernel + "/" + poolStride);
        try {
            int any = dnnl_h.dnnl_format_tag_any();
            long[] pDims = {p.n(), p.c(), p.outH(), p.outW()};
            MemorySegment pUser = plan.md(dnnl_h.dnnl_nchw(), pDims);

            // forward: conv (layouts of oneDNN's choice) -> max pool in the conv's dst layout -> relu on the pooled values
            ConvForward f = new ConvForward(plan, g, null, "convolution forward");
            MemorySegment yMd = f.yMd;
            MemorySegment convOut = plan.ownedMemory(yMd), dConv = plan.ownedMemory(yMd);

            MemorySegment pStrides = plan.dims(poolStride, poolStride), kernel = plan.dims(poolKernel, poolKernel);
            MemorySegment zero = plan.dims(0, 0);
            MemorySegment pAny = plan.md(any, pDims);
            MemorySegment ptd = plan.opDesc(Dnnl.POOLING_DESC_BYTES);
            Dnnl.check(dnnl_h.dnnl_pooling_forward_desc_init(ptd, dnnl_h.dnnl_forward_training(), dnnl_h.dnnl_pooling_max(),
                    yMd, pAny, pStrides, kernel, zero, zero), "dnnl_pooling_forward_desc_init " + p);
            MemorySegment ptpd = plan.pd(ptd, null, "pooling forward training");
            MemorySegment pMd = plan.queryMd(ptpd, dnnl_h.dnnl_query_dst_md(), 0);
            MemorySegment pid = plan.opDesc(Dnnl.POOLING_DESC_BYTES);
            Dnnl.check(dnnl_h.dnnl_pooling_forward_desc_init(pid, dnnl_h.dnnl_forward_inference(), dnnl_h.dnnl_pooling_max(),
                    yMd, pMd, pStrides, kernel, zero, zero), "dnnl_pooling_forward_desc_init " + p);
            MemorySegment pipd = plan.pd(pid, null, "pooling forward inference");
            MemorySegment ws = plan.ownedMemory(plan.queryMd(ptpd, dnnl_h.dnnl_query_workspace_md(), 0));

            long eltBytes = dnnl_eltwise_desc_t.layout().byteSize();
            MemorySegment ed = plan.opDesc(eltBytes);
            int reluDst = dnnl_h.dnnl_eltwise_relu_use_dst_for_bwd();
            Dnnl.check(dnnl_h.dnnl_eltwise_forward_desc_init(ed, dnnl_h.dnnl_forward_training(), reluDst, pMd, 0f, 0f),
                    "dnnl_eltwise_forward_desc_init");
            MemorySegment epd = plan.pd(ed, null, "relu forward");

            src = f.src;
            wei = f.wei;
            bias = f.bias;
            // the pooled, ReLU'd output stays in the plan: backward takes its mask from it
            out = plan.ownedOutput(pUser, pMd);
            MemorySegment pooled = out.inner();
            conv = f.exec(convOut);
            poolTrain = plan.exec(ptpd, 3, "pooling forward training").arg(DNNL_ARG_SRC(), convOut)
                    .arg(DNNL_ARG_DST(), pooled).arg(DNNL_ARG_WORKSPACE(), ws);
            poolInfer = plan.exec(pipd, 2, "pooling forward inference").arg(DNNL_ARG_SRC(), convOut).arg(DNNL_ARG_DST(), pooled);
            relu = plan.exec(epd, 2, "relu forward").arg(DNNL_ARG_SRC(), pooled).arg(DNNL_ARG_DST(), pooled);

            // backward: relu mask at the pooled size -> pool -> conv weights (and data), in the same layouts
            MemorySegment pbd = plan.opDesc(Dnnl.POOLING_DESC_BYTES);
            Dnnl.check(dnnl_h.dnnl_pooling_backward_desc_init(pbd, dnnl_h.dnnl_pooling_max(), yMd, pMd, pStrides, kernel, zero, zero),
                    "dnnl_pooling_backward_desc_init " + p);
            MemorySegment pbpd = plan.pd(pbd, ptpd, "pooling backward");
            dout = plan.port(pUser, pMd, true);
            // masked in place when dout was reordered into a buffer of the plan; the caller's dout stays as it is
            MemorySegment dMasked = dout.reorder() != null ? dout.inner() : plan.ownedMemory(pMd);

            MemorySegment ebd = plan.opDesc(eltBytes);
            Dnnl.check(dnnl_h.dnnl_eltwise_backward_desc_init(ebd, reluDst, pMd, pMd, 0f, 0f), "dnnl_eltwise_backward_desc_init");
            MemorySegment ebpd = plan.pd(ebd, epd, "relu backward");
            // relu'(x) from the ReLU's output: pooled > 0 exactly where the pooled conv value was
            reluBwd = plan.exec(ebpd, 3, "relu backward").arg(DNNL_ARG_DST(), pooled).arg(DNNL_ARG_DIFF_DST(), dout.inner())
                    .arg(DNNL_ARG_DIFF_SRC(), dMasked);
            poolBwd = plan.exec(pbpd, 3, "pooling backward").arg(DNNL_ARG_DIFF_DST(), dMasked)
                    .arg(DNNL_ARG_WORKSPACE(), ws).arg(DNNL_ARG_DIFF_SRC(), dConv);

            convBackward = f.backward(dConv);
            // built only where they run (tilesRun()); a plan made at 2 threads under the passive
            // policy stays untiled when the threads are set to 1 later
            tiles = tile == 0 || !tilesRun() ? null
                    : ConvPoolTiles.make(plan, f, g, p, Math.min(tile, g.n()), pMd, plan.queryMd(ptpd, dnnl_h.dnnl_query_workspace_md(), 0),
                            pooled, ws, dMasked);
            plan.finishScratchpad();
        } catch (RuntimeException | Error e) {
            plan.close();
            throw e;
        }
    }

    /** Images per training tile; 0 when training runs over the whole batch at once. */
    int imagesPerTile() { return tiles == null ? 0 : tiles.images(); }

    /** Whether this call runs in tiles (built, and {@link #tilesRun}). */
    boolean tiled() {
        return tiles != null && tilesRun();
    }

    /** Whether tiles pay now: with one thread, or when the OpenMP threads spin between regions. */
    private boolean tilesRun() { return tileWithTeam || ops.threads() == 1; }

    @Override
    public ConvGeometry conv() { return g; }

    @Override
    public PoolGeometry pool() { return p; }

    @Override
    public void forward(Tensor x, Tensor w, Tensor b, Tensor y, boolean training) {
        if (!(x.hasShape(xShape) && w.hasShape(wShape) && b.hasShape(bShape) && y.hasShape(pShape))) {
            checkForward(x, w, b, y); // throws, naming the tensor and both shapes
        }
        plan.enter();
        src.in(x);
        wei.in(w);
        bias.in(b);
        out.bind(y);
        if (training && tiled()) {
            tiles.forward(x);
        } else {
            conv.run();
            (training ? poolTrain : poolInfer).run();
        }
        relu.run();
        out.out();
        plan.sync();
        trained = training; // an evaluation forward overwrites what backward reads
    }

    @Override
    public void backward(Tensor x, Tensor w, Tensor d, Tensor dx, Tensor dw, Tensor db) {
        if (!(x.hasShape(xShape) && w.hasShape(wShape) && d.hasShape(pShape) && (dx == null || dx.hasShape(xShape))
                && dw.hasShape(wShape) && db.hasShape(bShape))) {
            checkBackward(x, w, d, dx, dw, db); // throws, naming the tensor and both shapes
        }
        if (!trained) throw new IllegalStateException("conv-relu-pool backward called before a training forward (or after an evaluation forward)");
        plan.enter();
        dout.in(d);
        reluBwd.run();
        if (tiled()) { // either path reads what either forward left: the same buffers in the same layouts
            tiles.backward(x, w, dx, dw, db);
        } else {
            poolBwd.run();
            convBackward.run(x, w, dx, dw, db);
        }
        plan.sync();
    }

    /** How the last forward read w and the last backward wrote dW and read w ({@link Dnnl.Port#mode()}, for tests). */
    String weightModes() {
        return "forward w " + wei.mode() + ", " + (tiled() ? tiles.weightModes() : convBackward.weightModes());
    }

    @Override
    public StorageOrder weightOrder() { return convBackward.weightOrder(tiles); }

    @Override
    public boolean stale() { return plan.stale(); }

    @Override
    public void close() { plan.close(); }
}
