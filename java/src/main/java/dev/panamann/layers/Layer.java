package dev.panamann.layers;

import dev.panamann.tensor.Param;

import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.List;

/**
 * One differentiable step of a network, a forward/backward pair in the cs231n style.
 *
 * <p>{@link #forward} returns an output tensor that the layer owns and reuses while the input
 * shape holds (do not close it; copy it if it must outlive the next call); in
 * {@link Mode#TRAIN} it keeps what {@link #backward} needs. {@link #backward} takes the
 * gradient of the loss with respect to that output and returns the gradient with respect to
 * the input (also owned by the layer), and <em>overwrites</em> the {@link Param#grad()} of each
 * parameter.
 */
public interface Layer extends AutoCloseable {
    Tensor forward(Tensor x, Mode mode);

    Tensor backward(Tensor dout);

    /** The learnable parameters, in a fixed order; empty when there are none. */
    default List<Param> params() { return List.of(); }

    /**
     * The random generators the layer draws from in {@link Mode#TRAIN} (dropout masks), in a
     * fixed order; empty for deterministic layers. Saving and restoring their states replays
     * the same draws (a Solver checkpoint does).
     */
    default List<Rng> generators() { return List.of(); }

    /**
     * State that is not learned but belongs to a trained layer (batch norm's running
     * statistics), by name, in a fixed order; empty for most layers. A model saves and loads
     * these with the parameters.
     */
    default java.util.Map<String, Tensor> buffers() { return java.util.Map.of(); }

    /** Frees the layer's buffers and parameters. */
    @Override
    void close();
}
