package dev.panamann.ops.java;

import dev.panamann.ops.ConvGeometry;
import dev.panamann.ops.ConvReluPoolOp;
import dev.panamann.ops.PoolGeometry;
import dev.panamann.tensor.Tensor;

/**
 * Conv - ReLU - max pool on the pure-Java backend in one pass per image: the ReLU and the max
 * pooling read each image's product while it is still in the convolution's buffer, keeping
 * only the pooled output and, for the backward, where each window's maximum was (or that the
 * ReLU cut it); the backward routes the gradient through those straight into the
 * convolution's. No (N, F, OH, OW) activation is stored. Same results as
 * {@link ComposedConvReluPoolOp}.
 */
final class JavaConvReluPoolOp implements ConvReluPoolOp {
    private final ConvGeometry g;
    private final PoolGeometry p;
    private final JavaConv2dOp convOp;
    /** Per pooled output: the index of its window's maximum in the (OH, OW) plane, -1 where the output is 0. */
    private final int[] argmax;
    private boolean trained;

    JavaConvReluPoolOp(JavaOps ops, ConvGeometry g, int poolKernel, int poolStride) {
        this.g = g;
        this.p = PoolGeometry.over(g, poolKernel, poolStride);
        this.convOp = new JavaConv2dOp(ops, g);
        this.argmax = new int[Math.multiplyExact(Math.multiplyExact(p.n(), p.c()), Math.multiplyExact(p.outH(), p.outW()))];
    }

    @Override
    public ConvGeometry conv() { return g; }

    @Override
    public PoolGeometry pool() { return p; }

    @Override
    public void forward(Tensor x, Tensor w, Tensor b, Tensor out, boolean training) {
        checkForward(x, w, b, out);
        convOp.forwardReluPool(x, w, b, p, out, argmax);
        if (training) trained = true;
    }

    @Override
    public void backward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db) {
        if (!trained) throw new IllegalStateException("conv-relu-pool backward called before a training forward");
        checkBackward(x, w, dout, dx, dw, db);
        convOp.backward(x, w, p, argmax, dout, dx, dw, db);
    }

    @Override
    public void close() { convOp.close(); }

    @Override
    public String toString() { return "JavaConvReluPoolOp(" + g + ", " + p + ")"; }
}
