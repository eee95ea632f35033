package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

/** Pure-Java batch norm (placeholder until the batch-norm work lands). */
final class JavaBatchNormOp implements BatchNormOp {
    private final int n, c, s;
    private final float eps;

    JavaBatchNormOp(JavaOps ops, int n, int c, int s, float eps) { this.n = n; this.c = c; this.s = s; this.eps = eps; }

    @Override public int n() { return n; }
    @Override public int c() { return c; }
    @Override public int spatial() { return s; }
    @Override public float eps() { return eps; }
    @Override public void forward(Tensor x, Tensor gamma, Tensor beta, Tensor out, Tensor rm, Tensor rv, float momentum, boolean training) { throw new UnsupportedOperationException("batchNorm not implemented yet"); }
    @Override public void backward(Tensor x, Tensor dout, Tensor gamma, Tensor dx, Tensor dgamma, Tensor dbeta) { throw new UnsupportedOperationException("batchNorm not implemented yet"); }
    @Override public void close() {}
}
