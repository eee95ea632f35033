package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

/** Pure-Java convolution (placeholder until the convolution work lands). */
final class JavaConv2dOp implements Conv2dOp {
    private final ConvGeometry g;

    JavaConv2dOp(JavaOps ops, ConvGeometry g) { this.g = g; }

    @Override public ConvGeometry geometry() { return g; }
    @Override public void forward(Tensor x, Tensor w, Tensor b, Tensor out) { throw new UnsupportedOperationException("conv2d not implemented yet"); }
    @Override public void backward(Tensor x, Tensor w, Tensor dout, Tensor dx, Tensor dw, Tensor db) { throw new UnsupportedOperationException("conv2d not implemented yet"); }
    @Override public void close() {}
}
