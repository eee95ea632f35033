package dev.panamann.ops.java;

import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluPoolOp;
import dev.panamann.ops.Ops;
import dev.panamann.ops.Pool2dOp;
import dev.panamann.ops.PoolGeometry;
import dev.panamann.ops.Elementwise;

import dev.panamann.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * Conv - ReLU - max pool made of a backend's own {@link Conv2dOp} and {@link Pool2dOp} with a
 * ReLU loop between them: the pure-Java backend's version, and the reference the native fused
 * plan is tested against.
 */
public final class ComposedConvReluPoolOp implements ConvReluPoolOp {
    private final ConvGeometry g;
    private final PoolGeometry p;
    private final Conv2dOp convOp;
    private final Pool2dOp poolOp;
    private final Tensor conv, relu, drelu, dconv;
    private boolean trained;

    public ComposedConvReluPoolOp(Ops ops, ConvGeometry g, int poolKernel, int poolStride) {
        this.g = g;
        this.p = PoolGeometry.over(g, poolKernel, poolStride);
        this.convOp = ops.conv2d(g);
        this.poolOp = ops.pool2d(p, true);
        this.conv = Tensor.zeros(g.outputShape());
        this.relu = Tensor.zeros(g.outputShape());
        this.drelu = Tensor.zeros(g.outputShape());
        this.dconv = Tensor.zeros(g.outputShape());
    }

    @Override
    public ConvGeometry conv() { return g; }

    @Override
    public PoolGeometry pool() { return p; }

    @Override
    public void forward(Tensor x, Tensor w, Tensor b, Tensor out, boolean training) {
        checkForward(x, w, b, out);
        convOp.forward(x, w, b, conv);
        MemorySegment c = conv.segment(), r = relu.segment();
        Elementwise.relu(c, r, conv.sizeInt());
        poolOp.forward(relu, out, training);
        if (training) trained = true;
    }

    @Override
    public void backward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db) {
        if (!trained) throw new IllegalStateException("conv-relu-pool backward called before a training forward");
        checkBackward(x, w, dout, dx, dw, db);
        poolOp.backward(relu, dout, drelu);
        MemorySegment r = relu.segment(), d = drelu.segment(), dc = dconv.segment();
        Elementwise.reluBackward(r, d, dc, relu.sizeInt());
        convOp.backward(x, w, dconv, dx, dw, db);
    }

    @Override
    public boolean stale() { return convOp.stale() || poolOp.stale(); }

    @Override
    public void close() {
        convOp.close();
        poolOp.close();
        conv.close();
        relu.close();
        drelu.close();
        dconv.close();
    }
}
