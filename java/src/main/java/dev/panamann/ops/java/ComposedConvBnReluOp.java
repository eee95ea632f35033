package dev.panamann.ops.java;

import dev.panamann.ops.BatchNormOp;
import dev.panamann.ops.Conv2dOp;
import dev.panamann.ops.ConvBnReluOp;
import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.Elementwise;
import dev.panamann.ops.Ops;
import dev.panamann.tensor.Tensor;

/**
 * Convolution, batch norm and ReLU made of a backend's own {@link Conv2dOp}, {@link BatchNormOp}
 * and a ReLU loop, with plain NCHW activations between them: the pure-Java backend's version,
 * and the reference the native fused plan is tested against. It keeps the convolution's output
 * (the batch norm's backward input) and the ReLU's output (the backward mask) in buffers of its
 * own, so the caller may reuse the output tensor.
 */
public final class ComposedConvBnReluOp implements ConvBnReluOp {
    private final ConvGeometry g;
    private final float eps;
    private final Conv2dOp convOp;
    private final BatchNormOp bnOp;
    /** The convolution's output, the ReLU's output, and the gradients of the convolution's and the batch norm's outputs. */
    private final Tensor conv, relu, dconv, dbn;
    private boolean trained;

    public ComposedConvBnReluOp(Ops ops, ConvGeometry g, float eps) {
        this.g = g;
        this.eps = eps;
        this.convOp = ops.conv2d(g);
        BatchNormOp bn = null;
        Tensor[] t = new Tensor[4];
        try {
            bn = ops.batchNorm(g.outputShape(), eps);
            for (int i = 0; i < t.length; i++) t[i] = Tensor.zeros(g.outputShape());
        } catch (RuntimeException | Error e) {
            for (Tensor u : t) if (u != null) u.close();
            if (bn != null) bn.close();
            convOp.close();
            throw e;
        }
        this.bnOp = bn;
        this.conv = t[0];
        this.relu = t[1];
        this.dconv = t[2];
        this.dbn = t[3];
    }

    @Override
    public ConvGeometry geometry() { return g; }

    @Override
    public float eps() { return eps; }

    @Override
    public void forward(Tensor x, Tensor w, Tensor b, Tensor gamma, Tensor beta, Tensor out, Tensor runningMean,
                        Tensor runningVar, float momentum, boolean training) {
        checkForwardShapes(x, w, b, gamma, beta, out, runningMean, runningVar);
        if (training) BatchNormOp.checkTrainable(g.n(), g.f(), g.outH() * g.outW());
        convOp.forward(x, w, b, conv);
        bnOp.forward(conv, gamma, beta, relu, runningMean, runningVar, momentum, training);
        Elementwise.relu(relu.segment(), relu.segment(), relu.sizeInt());
        out.copyFrom(relu);
        trained = training; // an evaluation forward overwrites the kept activations
    }

    @Override
    public void backward(Tensor x, Tensor w, Tensor gamma, Tensor dout, Tensor dx, Tensor dw, Tensor db, Tensor dgamma,
                         Tensor dbeta) {
        checkBackwardShapes(x, w, gamma, dout, dx, dw, db, dgamma, dbeta);
        if (!trained) {
            throw new IllegalStateException("conv-bn-relu backward called before a training forward (or after an evaluation forward)");
        }
        Elementwise.reluBackward(relu.segment(), dout.segment(), dbn.segment(), relu.sizeInt());
        bnOp.backward(conv, gamma, dbn, dconv, dgamma, dbeta);
        convOp.backward(x, w, dconv, dx, dw, db);
    }

    @Override
    public boolean stale() { return convOp.stale() || bnOp.stale(); }

    @Override
    public void close() {
        convOp.close();
        bnOp.close();
        conv.close();
        relu.close();
        dconv.close();
        dbn.close();
    }

    @Override
    public String toString() { return "ComposedConvBnReluOp(" + g + ", eps=" + eps + ")"; }
}
