package dev.panamann.ops;

import dev.panamann.tensor.Tensor;

/**
 * A planned max or average pooling for one {@link PoolGeometry}; see {@link Ops#pool2d}.
 * Backward follows the convention of every op, stated in {@link Ops}.
 */
public interface Pool2dOp extends PlannedOp {
    PoolGeometry geometry();

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
     * @param x    input of the training forward, (N, C, H, W), unchanged since
     * @param dout upstream gradient, (N, C, OH, OW)
     * @param dx   gradient for x, (N, C, H, W), overwritten
     * @throws IllegalStateException if no training forward came before
     */
    void backward(Tensor x, Tensor dout, Tensor dx);
}
