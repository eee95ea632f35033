package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

/** A planned max or average pooling for one {@link PoolGeometry}; see {@link Ops#pool2d}. */
public interface Pool2dOp extends AutoCloseable {
    PoolGeometry geometry();

    boolean isMax();

    /**
     * @param x        input, (N, C, H, W)
     * @param out      output, (N, C, OH, OW), overwritten
     * @param training when true, keeps what {@link #backward} needs (max-pool argmax/workspace);
     *                 an evaluation forward leaves what the last training forward kept
     */
    void forward(Tensor x, Tensor out, boolean training);

    /**
     * Gradient with respect to the input of the last training {@link #forward}.
     *
     * @param dout upstream gradient, (N, C, OH, OW)
     * @param dx   gradient for the input, (N, C, H, W), overwritten
     * @throws IllegalStateException if no training forward came before
     */
    void backward(Tensor dout, Tensor dx);

    @Override
    void close();
}
