package dev.panamann.ops.dnnl;

import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_BIAS;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_BIAS;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DIFF_WEIGHTS;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_DST;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_SRC;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_WEIGHTS;
import static dev.panamann.bindings.dnnl.dnnl_h.DNNL_ARG_WORKSPACE;

import dev.panamann.bindings.dnnl.dnnl_blocking_desc_t;
import dev.panamann.bindings.dnnl.dnnl_h;
import dev.panamann.bindings.dnnl.dnnl_memory_desc_t;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.Elementwise;
import dev.panamann.ops.PoolGeometry;
import dev.panamann.tensor.StorageOrder;
import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The training forward and backward of a conv-relu-pool plan ({@link DnnlConvReluPoolOp}) in
 * tiles of images. Forward, per tile, the convolution writes a tile-sized buffer that stays in
 * cache while max pooling reads it into the tile's slice of the batch's pooled output and
 * workspace. Backward, per tile, pooling backward into a tile-sized buffer, then the tile's
 * backward convolutions; the tiles' weight and bias gradients are added up. The pooled-size
 * passes (the ReLU, its mask, the reorders of the pooled output and its gradient) still run once
 * over the batch, on the plan's buffers: a tile's slice of a batch buffer is a memory object at
 * the tile's offset whose layout is the batch's with fewer images. Backward never reads the
 * convolution's output (the ReLU mask is the pooled output), so nothing conv-sized outlives a
 * tile. On the CIFAR conv net (7x7 conv to 32 x 32 x 32 per image, 8 images per tile) the train
 * step ran 7-11 % faster at 1 thread (docs/benchmarks.md).
 */
final class ConvPoolTiles {
    /** Bytes of one tile's convolution output to aim for: well inside a core's L2. */
    static final long TILE_BYTES = 1L << 20;

    /**
     * Images per tile for convolution {@code g}: as many as give about {@link #TILE_BYTES} of
     * output (at least one), or 0 when the whole batch fits in one tile (then nothing is tiled).
     * {@code -Dpanamann.dnnl.convPoolTile=t} sets the images per tile instead (0: never tile).
     */
    static int imagesPerTile(ConvGeometry g) {
        String v = System.getProperty("panamann.dnnl.convPoolTile");
        long t;
        if (v == null) {
            long perImage = 4L * g.f() * g.outH() * g.outW();
            t = Math.max(1, TILE_BYTES / perImage);
        } else {
            try {
                t = Integer.parseInt(v.trim());
            } catch (NumberFormatException e) {
                t = -1;
            }
            if (t < 0) throw new IllegalArgumentException("panamann.dnnl.convPoolTile must be an integer >= 0, got '" + v + "'");
            if (t == 0) return 0;
        }
        return t >= g.n() ? 0 : (int) t;
    }

    /** The primitives for tiles of one size and the memory objects they run on (pointed at each tile in turn). */
    private record TileSet(int images, MemorySegment src, MemorySegment pooled, MemorySegment ws, MemorySegment dMasked,
                           MemorySegment dW, MemorySegment dB, MemorySegment dx, Dnnl.Exec conv, Dnnl.Exec pool,
                           Dnnl.Exec poolBwd, Dnnl.Exec bwdWeights, Dnnl.Exec bwdData) {}

    /**
     * A tensor's slices at the tiles' offsets, kept for the last tensor seen (the step's tensors
     * are usually the same from step to step: no allocation then).
     */
    private static final class Slices {
        private final long[] offsets;
        private MemorySegment base;
        private MemorySegment[] slices;

        Slices(long[] offsets) { this.offsets = offsets; }

        MemorySegment[] of(MemorySegment segment) {
            if (segment != base) {
                MemorySegment[] s = new MemorySegment[offsets.length];
                for (int k = 0; k < s.length; k++) s[k] = segment.asSlice(offsets[k]);
                slices = s;
                base = segment;
            }
            return slices;
        }
    }

    private final Dnnl.Plan plan;
    /** The primitives of each tile, in order: the last one may be the smaller tile set. */
    private final TileSet[] tiles;
    /** The tiles' slices of the plan's batch buffers. */
    private final MemorySegment[] pooled, ws, dMasked;
    /** The tiles' slices of the forward's reordered input; null when the convolution reads the user's x. */
    private final MemorySegment[] src;
    private final Slices xSlices, dxSlices;
    private final MemorySegment dwTmp, dbTmp;
    private final int dwFloats, dbFloats;
    private final Dnnl.Port dwPort, dbPort, bdWei, dxPort;

    /** imageBytes: bytes per image of the input, the pooled output, the workspace and dx in the plan's layouts. */
    private ConvPoolTiles(Dnnl.Plan plan, int n, TileSet full, TileSet rest, MemorySegment srcData, MemorySegment pooledData,
                          MemorySegment wsData, MemorySegment dMaskedData, MemorySegment dwTmp, MemorySegment dbTmp,
                          long[] imageBytes, Dnnl.Port dwPort, Dnnl.Port dbPort, Dnnl.Port bdWei, Dnnl.Port dxPort, int dwFloats,
                          int dbFloats) {
        this.plan = plan;
        int count = (n + full.images() - 1) / full.images();
        tiles = new TileSet[count];
        long[] first = new long[count]; // first image of each tile
        for (int k = 0, s0 = 0; k < count; k++) {
            tiles[k] = n - s0 >= full.images() ? full : rest;
            first[k] = s0;
            s0 += tiles[k].images();
        }
        pooled = slices(pooledData, first, imageBytes[1]);
        ws = slices(wsData, first, imageBytes[2]);
        dMasked = slices(dMaskedData, first, imageBytes[1]);
        src = srcData == null ? null : slices(srcData, first, imageBytes[0]);
        xSlices = new Slices(times(first, imageBytes[0]));
        dxSlices = new Slices(times(first, imageBytes[3]));
        this.dwTmp = dwTmp;
        this.dbTmp = dbTmp;
        this.dwFloats = dwFloats;
        this.dbFloats = dbFloats;
        this.dwPort = dwPort;
        this.dbPort = dbPort;
        this.bdWei = bdWei;
        this.dxPort = dxPort;
    }

    private static long[] times(long[] first, long bytes) {
        long[] o = new long[first.length];
        for (int k = 0; k < o.length; k++) o[k] = first[k] * bytes;
        return o;
    }

    private static MemorySegment[] slices(MemorySegment data, long[] first, long bytes) {
        return new Slices(times(first, bytes)).of(data);
    }

    /**
     * The tiles of {@code images} images (1 <= images <= batch) for a conv-relu-pool plan, or
     * null when oneDNN offers them only in other layouts than the batch's or only as reference
     * code (the plan then runs untiled). All objects are made on {@code plan}, before its
     * {@link Dnnl.Plan#finishScratchpad}.
     *
     * @param f       the plan's forward convolution
     * @param pMd     the pooled output's layout; {@code wsMd} the pooling workspace's
     * @param pooled  the plan's pooled output (owned), {@code ws} its workspace, {@code dMasked}
     *                the masked gradient of the pooled output (owned)
     */
    static ConvPoolTiles make(Dnnl.Plan plan, ConvForward f, ConvGeometry g, PoolGeometry p, int images, MemorySegment pMd,
                              MemorySegment wsMd, MemorySegment pooled, MemorySegment ws, MemorySegment dMasked) {
        int n = g.n();
        int rem = n % images;
        MemorySegment yMd = f.yMd;
        long[] imageBytes = {imageBytes(f.srcMd, n), imageBytes(pMd, n), imageBytes(wsMd, n)};
        for (long b : imageBytes) if (b < 0) return null;
        if (imageBytes(yMd, n) < 0) return null;
        // the weight gradient: per tile into the user's layout's port, the tiles after the first through dwTmp
        MemorySegment weiMd = plan.queryMd(f.pd, dnnl_h.dnnl_query_weights_md(), 0);
        Dnnl.Port[] ports = new Dnnl.Port[4]; // dW, db, weights for backward data, dx
        TileSet full = set(plan, f, g, p, images, yMd, pMd, wsMd, weiMd, ports);
        if (full == null) return null;
        TileSet rest = null;
        if (rem > 0) {
            rest = set(plan, f, g, p, rem, yMd, pMd, wsMd, weiMd, ports);
            if (rest == null) return null;
        }
        MemorySegment dwMd = plan.queryMd(full.bwdWeights.pd, dnnl_h.dnnl_query_diff_weights_md(), 0);
        long dwBytes = dnnl_h.dnnl_memory_desc_get_size(dwMd);
        MemorySegment dwTmp = plan.buffer(dwBytes);
        MemorySegment dbTmp = plan.buffer((long) Float.BYTES * g.f());
        MemorySegment srcData = f.src.reorder() != null ? plan.bufferOf(f.src.inner()) : null;
        long dxImg = imageBytes(ports[3].innerMd(), n);
        return new ConvPoolTiles(plan, n, full, rest, srcData, plan.bufferOf(pooled), plan.bufferOf(ws), plan.bufferOf(dMasked),
                dwTmp, dbTmp, new long[] {imageBytes[0], imageBytes[1], imageBytes[2], dxImg}, ports[0], ports[1], ports[2],
                ports[3], Math.toIntExact(dwBytes / Float.BYTES), g.f());
    }

    /** The primitives for tiles of {@code tn} images, or null when they are not available in the batch's layouts. */
    private static TileSet set(Dnnl.Plan plan, ConvForward f, ConvGeometry g, PoolGeometry p, int tn, MemorySegment yMd,
                               MemorySegment pMd, MemorySegment wsMd, MemorySegment weiMd, Dnnl.Port[] ports) {
        MemorySegment srcT = slice(plan, f.srcMd, tn), yT = slice(plan, yMd, tn), pT = slice(plan, pMd, tn);
        MemorySegment wsT = slice(plan, wsMd, tn);
        MemorySegment bMd = f.user.b();
        MemorySegment cd = plan.opDesc(Dnnl.CONVOLUTION_DESC_BYTES);
        Dnnl.check(dnnl_h.dnnl_convolution_forward_desc_init(cd, dnnl_h.dnnl_forward_training(), dnnl_h.dnnl_convolution_direct(),
                srcT, weiMd, bMd, yT, f.strides, f.pad, f.pad), "dnnl_convolution_forward_desc_init (tile of " + tn + ", " + g + ")");
        MemorySegment cpd = plan.pd(cd, null, "tile convolution forward");

        int k = p.kernel(), s = p.stride();
        MemorySegment pStrides = plan.dims(s, s), kernel = plan.dims(k, k), zero = plan.dims(0, 0);
        MemorySegment ptd = plan.opDesc(Dnnl.POOLING_DESC_BYTES);
        Dnnl.check(dnnl_h.dnnl_pooling_forward_desc_init(ptd, dnnl_h.dnnl_forward_training(), dnnl_h.dnnl_pooling_max(), yT, pT,
                pStrides, kernel, zero, zero), "dnnl_pooling_forward_desc_init (tile of " + tn + ", " + p + ")");
        MemorySegment ptpd = plan.pd(ptd, null, "tile pooling forward training");
        MemorySegment wsWanted = plan.queryMd(ptpd, dnnl_h.dnnl_query_workspace_md(), 0);
        if (wsWanted == null || dnnl_h.dnnl_memory_desc_equal(wsWanted, wsT) != 1) return null;
        MemorySegment pbd = plan.opDesc(Dnnl.POOLING_DESC_BYTES);
        Dnnl.check(dnnl_h.dnnl_pooling_backward_desc_init(pbd, dnnl_h.dnnl_pooling_max(), yT, pT, pStrides, kernel, zero, zero),
                "dnnl_pooling_backward_desc_init (tile of " + tn + ", " + p + ")");
        MemorySegment pbpd = plan.pd(pbd, ptpd, "tile pooling backward");

        MemorySegment bwd = plan.opDesc(Dnnl.CONVOLUTION_DESC_BYTES);
        Dnnl.check(dnnl_h.dnnl_convolution_backward_weights_desc_init(bwd, dnnl_h.dnnl_convolution_direct(), srcT, f.wAny, bMd, yT,
                f.strides, f.pad, f.pad), "dnnl_convolution_backward_weights_desc_init (tile of " + tn + ", " + g + ")");
        MemorySegment bwpd = plan.pd(bwd, cpd, "tile convolution backward weights");
        // backward data chooses the layout of dx (the forward's input layout can leave it only a reference kernel)
        MemorySegment dxAny = plan.md(dnnl_h.dnnl_format_tag_any(), tn, g.c(), g.h(), g.w());
        MemorySegment bdd = plan.opDesc(Dnnl.CONVOLUTION_DESC_BYTES);
        Dnnl.check(dnnl_h.dnnl_convolution_backward_data_desc_init(bdd, dnnl_h.dnnl_convolution_direct(), dxAny, f.wAny, yT,
                f.strides, f.pad, f.pad), "dnnl_convolution_backward_data_desc_init (tile of " + tn + ", " + g + ")");
        MemorySegment bdpd = plan.pd(bdd, cpd, "tile convolution backward data");
        for (MemorySegment pd : new MemorySegment[] {cpd, ptpd, pbpd, bwpd, bdpd}) {
            if (Dnnl.impl(plan, pd).startsWith("ref")) return null;
        }
        MemorySegment dwMd = plan.queryMd(bwpd, dnnl_h.dnnl_query_diff_weights_md(), 0);
        MemorySegment dbMd = plan.queryMd(bwpd, dnnl_h.dnnl_query_diff_weights_md(), 1);
        MemorySegment bdWeiMd = plan.queryMd(bdpd, dnnl_h.dnnl_query_weights_md(), 0);
        MemorySegment dxT = plan.queryMd(bdpd, dnnl_h.dnnl_query_diff_src_md(), 0);
        if (ports[0] == null) { // the first tile size decides the layouts of the whole-batch gradients
            MemorySegment dxMd = slice(plan, dxT, g.n());
            if (imageBytes(dxMd, g.n()) < 0) return null;
            ports[0] = plan.port(f.user.w(), dwMd, false);
            ports[1] = plan.port(bMd, dbMd, false);
            ports[2] = plan.port(f.user.w(), bdWeiMd, true);
            ports[2].alsoFrom(f.wei, weiMd); // weights held in the forward's layout
            ports[3] = plan.port(f.user.x(), dxMd, false);
        } else if (dnnl_h.dnnl_memory_desc_equal(dwMd, ports[0].innerMd()) != 1 || dnnl_h.dnnl_memory_desc_equal(dbMd, ports[1].innerMd()) != 1
                || dnnl_h.dnnl_memory_desc_equal(bdWeiMd, ports[2].innerMd()) != 1
                || dnnl_h.dnnl_memory_desc_equal(dxT, slice(plan, ports[3].innerMd(), tn)) != 1) {
            return null;
        }

        MemorySegment srcMem = plan.userMemory(srcT), pooled = plan.userMemory(pT), ws = plan.userMemory(wsT);
        MemorySegment dMasked = plan.userMemory(pT), dW = plan.userMemory(dwMd), dB = plan.userMemory(dbMd);
        MemorySegment dx = plan.userMemory(dxT);
        MemorySegment convOut = plan.ownedMemory(yT), dConv = plan.ownedMemory(yT);
        Dnnl.Exec conv = plan.exec(cpd, 4, "tile convolution forward").arg(DNNL_ARG_SRC(), srcMem)
                .arg(DNNL_ARG_WEIGHTS(), f.wei.inner()).arg(DNNL_ARG_BIAS(), f.bias.inner()).arg(DNNL_ARG_DST(), convOut);
        Dnnl.Exec pool = plan.exec(ptpd, 3, "tile pooling forward training").arg(DNNL_ARG_SRC(), convOut)
                .arg(DNNL_ARG_DST(), pooled).arg(DNNL_ARG_WORKSPACE(), ws);
        Dnnl.Exec poolBwd = plan.exec(pbpd, 3, "tile pooling backward").arg(DNNL_ARG_DIFF_DST(), dMasked)
                .arg(DNNL_ARG_WORKSPACE(), ws).arg(DNNL_ARG_DIFF_SRC(), dConv);
        Dnnl.Exec bwdWeights = plan.exec(bwpd, 4, "tile convolution backward weights").arg(DNNL_ARG_SRC(), srcMem)
                .arg(DNNL_ARG_DIFF_DST(), dConv).arg(DNNL_ARG_DIFF_WEIGHTS(), dW).arg(DNNL_ARG_DIFF_BIAS(), dB);
        Dnnl.Exec bwdData = plan.exec(bdpd, 3, "tile convolution backward data").arg(DNNL_ARG_DIFF_DST(), dConv)
                .arg(DNNL_ARG_WEIGHTS(), ports[2].inner()).arg(DNNL_ARG_DIFF_SRC(), dx);
        return new TileSet(tn, srcMem, pooled, ws, dMasked, dW, dB, dx, conv, pool, poolBwd, bwdWeights, bwdData);
    }

    /**
     * Bytes per image of a batch tensor of layout {@code md} whose images are consecutive blocks
     * (the batch dimension outermost, not blocked, not padded); -1 otherwise.
     */
    private static long imageBytes(MemorySegment md, int n) {
        if (dnnl_memory_desc_t.format_kind(md) != dnnl_h.dnnl_blocked() || dnnl_memory_desc_t.offset0(md) != 0) return -1;
        if (dnnl_memory_desc_t.padded_dims(md).getAtIndex(ValueLayout.JAVA_LONG, 0) != n) return -1;
        MemorySegment blocking = dnnl_memory_desc_t.format_desc.blocking(dnnl_memory_desc_t.format_desc(md));
        MemorySegment idxs = dnnl_blocking_desc_t.inner_idxs(blocking);
        for (int i = 0; i < dnnl_blocking_desc_t.inner_nblks(blocking); i++) {
            if (idxs.getAtIndex(ValueLayout.JAVA_LONG, i) == 0) return -1;
        }
        long size = dnnl_h.dnnl_memory_desc_get_size(md);
        long stride0 = dnnl_blocking_desc_t.strides(blocking).getAtIndex(ValueLayout.JAVA_LONG, 0);
        if (size % n != 0 || size / n % stride0 != 0) return -1; // stride0 elements of 1, 2 or 4 bytes per image
        long elem = size / n / stride0;
        return elem == 1 || elem == 2 || elem == 4 ? size / n : -1;
    }

    /** Layout {@code md} of a batch with {@code tn} images instead (same strides). */
    private static MemorySegment slice(Dnnl.Plan plan, MemorySegment md, int tn) {
        long size = dnnl_memory_desc_t.layout().byteSize();
        MemorySegment s = dnnl_memory_desc_t.allocate(plan.arena);
        MemorySegment.copy(md, 0, s, 0, size);
        dnnl_memory_desc_t.dims(s).setAtIndex(ValueLayout.JAVA_LONG, 0, tn);
        dnnl_memory_desc_t.padded_dims(s).setAtIndex(ValueLayout.JAVA_LONG, 0, tn);
        return s;
    }

    /** Images per tile (the last tile may have fewer). */
    int images() { return tiles[0].images(); }

    /** Conv and pooling forward per tile, after the plan's input ports took x, w and b. */
    void forward(Tensor x) {
        MemorySegment[] xs = src != null ? src : xSlices.of(x.segment());
        for (int k = 0; k < tiles.length; k++) {
            TileSet t = tiles[k];
            plan.bind(t.src(), xs[k]);
            plan.bind(t.pooled(), pooled[k]);
            plan.bind(t.ws(), ws[k]);
            t.conv().run();
            t.pool().run();
        }
    }

    /** As {@link ConvBackward#weightModes()}, for the tiles' ports. */
    String weightModes() { return "dW " + dwPort.mode() + ", backward-data w " + bdWei.mode(); }

    /** The order the tiles' backward weights writes dW in directly ({@link Dnnl.Port#order()}). */
    StorageOrder diffWeightsOrder() { return dwPort.order(); }

    /**
     * Pooling backward and the backward convolutions per tile, after the plan masked the
     * gradient of the pooled output; writes dW and db (the sums over the tiles) and dx unless it
     * is null.
     */
    void backward(Tensor x, Tensor w, Tensor dx, Tensor dw, Tensor db) {
        MemorySegment[] xs;
        if (src != null) {
            x.checkOpen(); // the forward's reordered copy of x is used
            xs = src;
        } else {
            xs = xSlices.of(x.segment());
        }
        dwPort.bind(dw);
        dbPort.bind(db);
        MemorySegment dwAcc = dwPort.innerData(); // dw itself, or the port's buffer in oneDNN's layout
        MemorySegment dbAcc = dbPort.innerData();
        MemorySegment[] dxs = null;
        if (dx != null) {
            bdWei.in(w);
            dxPort.bind(dx);
            dxs = dxSlices.of(dxPort.innerData());
        }
        for (int k = 0; k < tiles.length; k++) {
            TileSet t = tiles[k];
            plan.bind(t.src(), xs[k]);
            plan.bind(t.ws(), ws[k]);
            plan.bind(t.dMasked(), dMasked[k]);
            plan.bind(t.dW(), k == 0 ? dwAcc : dwTmp);
            plan.bind(t.dB(), k == 0 ? dbAcc : dbTmp);
            t.poolBwd().run();
            t.bwdWeights().run();
            if (k > 0) {
                plan.sync();
                Elementwise.add(dwAcc, dwTmp, dwAcc, dwFloats);
                Elementwise.add(dbAcc, dbTmp, dbAcc, dbFloats);
            }
            if (dxs != null) {
                plan.bind(t.dx(), dxs[k]);
                t.bwdData().run();
            }
        }
        dwPort.out();
        dbPort.out();
        if (dx != null) dxPort.out();
    }

}
