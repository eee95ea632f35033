package dev.panamann.layers;

import dev.panamann.ops.Ops;
import dev.panamann.tensor.Tensor;

/** Batch normalization (placeholder until the batch-norm work lands). */
public final class BatchNorm implements Layer {
    /**
     * @param ops         backend
     * @param numFeatures D for (N, D) input, C for (N, C, H, W) input
     * @param eps         added to the variance (cs231n 1e-5)
     * @param momentum    running-average momentum (cs231n 0.9)
     */
    public BatchNorm(Ops ops, int numFeatures, float eps, float momentum) {}

    /** With cs231n defaults eps 1e-5, momentum 0.9. */
    public BatchNorm(Ops ops, int numFeatures) { this(ops, numFeatures, 1e-5f, 0.9f); }

    @Override public Tensor forward(Tensor x, Mode mode) { throw new UnsupportedOperationException("BatchNorm not implemented yet"); }
    @Override public Tensor backward(Tensor dout) { throw new UnsupportedOperationException("BatchNorm not implemented yet"); }
    @Override public void close() {}
}
