package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

/** oneDNN pooling (placeholder until the pooling work lands). */
final class DnnlPool2dOp implements Pool2dOp {
    private final PoolGeometry g;
    private final boolean max;

    DnnlPool2dOp(NativeOps ops, PoolGeometry g, boolean max) { this.g = g; this.max = max; }

    @Override public PoolGeometry geometry() { return g; }
    @Override public boolean isMax() { return max; }
    @Override public void forward(Tensor x, Tensor out, boolean training) { throw new UnsupportedOperationException("pool2d not implemented yet"); }
    @Override public void backward(Tensor dout, Tensor dx) { throw new UnsupportedOperationException("pool2d not implemented yet"); }
    @Override public void close() {}
}
