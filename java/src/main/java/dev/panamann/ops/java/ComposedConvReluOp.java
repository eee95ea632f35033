package dev.panamann.ops.java;

import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluOp;
import dev.panamann.ops.Elementwise;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Tensor;

/**
 * Convolution then ReLU made of a backend's own {@link Conv2dOp} and a ReLU loop: the pure-Java
 * backend's version, and the reference the native fused plan is tested against. It keeps the
 * ReLU's output for the backward mask in a buffer of its own, so the caller may reuse the
 * output tensor.
 */
public final class ComposedConvReluOp implements ConvReluOp {
    private final ConvGeometry g;
    private final Conv2dOp convOp;
    private final Tensor relu, dconv;
    private boolean trained;

    public ComposedConvReluOp(Ops ops, ConvGeometry g) {
        this.g = g;
        this.convOp = ops.conv2d(g);
        Tensor r = null;
        try {
            r = Tensor.zeros(g.outputShape());
            this.relu = r;
            this.dconv = Tensor.zeros(g.outputShape());
        } catch (RuntimeException | Error e) {
            if (r != null) r.close();
            convOp.close();
            throw e;
        }
    }

    @Override
    public ConvGeometry geometry() { return g; }

    @Override
    public void forward(Tensor x, Tensor w, Tensor b, Tensor out, boolean training) {
        g.checkForward(x, w, b, out);
        convOp.forward(x, w, b, relu);
        Elementwise.relu(relu.segment(), relu.segment(), relu.sizeInt());
        out.copyFrom(relu);
        trained = training; // an evaluation forward overwrites the kept output as well
    }

    @Override
    public void backward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db) {
        g.checkBackward(x, w, dout, dx, dw, db);
        if (!trained) throw new IllegalStateException("conv-relu backward called before a training forward (or after an evaluation forward)");
        Elementwise.reluBackward(relu.segment(), dout.segment(), dconv.segment(), relu.sizeInt());
        convOp.backward(x, w, dconv, dx, dw, db);
    }

    @Override
    public boolean stale() { return convOp.stale(); }

    @Override
    public void close() {
        convOp.close();
        relu.close();
        dconv.close();
    }
}
