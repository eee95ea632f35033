package dev.panamann.models;

import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A classifier with the cs231n model API: {@link #scores} is {@code loss(X)} (class scores,
 * evaluation mode) and {@link #loss} is {@code loss(X, y)} (data loss plus L2 regularization,
 * with every {@link Param#grad()} filled).
 */
public interface Model extends AutoCloseable {

    /**
     * Class scores for a batch, in evaluation mode.
     *
     * @param x input batch, (N, ...) as the model expects
     * @return scores, (N, numClasses), owned by the model and reused by the next call
     */
    Tensor scores(Tensor x);

    /**
     * Training-mode forward and backward pass.
     *
     * @param x input batch, (N, ...)
     * @param y labels, N values in [0, numClasses)
     * @return loss: data loss plus {@code 0.5 * reg * sum(W^2)} over the regularized params
     */
    float loss(Tensor x, int[] y);

    /**
     * As {@link #loss}, with the result in double precision before rounding to float (for
     * gradient checks, which difference losses). The default rounds through {@link #loss}.
     *
     * @param x input batch, (N, ...)
     * @param y labels, N values in [0, numClasses)
     */
    default double lossDouble(Tensor x, int[] y) {
        return loss(x, y);
    }

    /** The parameters by name (W1, b1, ... or layer-qualified names), in a fixed order. */
    List<Param> params();

    /**
     * State that is not learned by gradient but belongs to the model and must be saved with
     * it, such as batch norm's running mean and variance, by name ({@code running_mean1}, ...).
     * Empty for models without such state.
     */
    default Map<String, Tensor> buffers() { return Map.of(); }

    /**
     * The random generators the model draws from while training (dropout masks), in a fixed
     * order, each once; empty for deterministic models. A Solver checkpoint saves their states
     * so that a resumed run draws the same masks as an uninterrupted one.
     */
    default List<Rng> generators() { return List.of(); }

    /**
     * Every parameter gradient in one contiguous 1-D tensor, in {@link #params()} order: each
     * {@link Param#grad()} is a view of it. A distributed run averages all gradients across
     * processes with one in-place all-reduce of this tensor. Owned by the model. The default
     * throws {@link UnsupportedOperationException}: models that keep separate gradient tensors
     * cannot be trained data-parallel ({@link SequentialModel} and every model of this package
     * implement it).
     */
    default Tensor gradients() {
        throw new UnsupportedOperationException(getClass().getName()
                + " does not keep its gradients in one buffer (Model.gradients()); build it on SequentialModel or pack them with Gradients.pack");
    }

    /** Number of classes the scores cover. */
    int numClasses();

    /** The parameters as a name-to-param map, in {@link #params()} order. */
    default Map<String, Param> paramMap() {
        Map<String, Param> m = new LinkedHashMap<>();
        for (Param p : params()) m.put(p.name(), p);
        return m;
    }

    /** Frees the model's parameters and buffers. */
    @Override
    void close();
}
