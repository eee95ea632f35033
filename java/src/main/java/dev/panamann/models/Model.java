package dev.panamann.models;

import dev.panamann.optim.Optimizer;
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

    /**
     * One training step: {@link #loss} for the batch, then {@code optimizer.step(params())}.
     * A model may fuse the two ({@link DataParallel#trainStep}); after this call the gradients
     * are then not all available, so use {@link #loss} and {@link Optimizer#step(List)} when
     * something reads them between the pass and the update (clipping, an all-reduce,
     * inspection). The default runs the two calls.
     *
     * @param x         input batch, (N, ...)
     * @param y         labels, N values in [0, numClasses)
     * @param optimizer the update rule, applied to every param
     * @return the loss of the batch, as {@link #loss}
     */
    default float trainStep(Tensor x, int[] y, Optimizer optimizer) {
        float loss = loss(x, y);
        optimizer.step(params());
        return loss;
    }

    /**
     * The parameters by name, in a fixed order; a {@link SequentialModel} names them from its
     * module tree ({@code layers.0.weight}, {@code layers.0.bias}, ...).
     */
    List<Param> params();

    /**
     * State that is not learned by gradient but belongs to the model and must be saved with
     * it, such as batch norm's running mean and variance, by name ({@code layers.1.running_mean}, ...).
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

    /**
     * The model's state by name, as in {@code torch.nn.Module.state_dict()}: the value of each
     * param ({@link #params()} order, named by {@link Param#name()}), then each buffer
     * ({@link #buffers()}). The tensors are the model's own (live, not copies: do not close
     * them). The names are the ones a saved file uses ({@code layers.0.weight},
     * {@code layers.0.bias}, ..., {@code layers.1.running_mean} for a {@link SequentialModel}).
     *
     * @throws IllegalArgumentException when two entries share a name
     */
    default Map<String, Tensor> stateDict() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Param p : params()) {
            if (m.put(p.name(), p.value()) != null) throw new IllegalArgumentException("two params are named '" + p.name() + "'");
        }
        for (var e : buffers().entrySet()) {
            if (m.put(e.getKey(), e.getValue()) != null) {
                throw new IllegalArgumentException("a buffer and a param are both named '" + e.getKey() + "'");
            }
        }
        return m;
    }

    /**
     * The names files written by earlier versions gave the entries of {@link #stateDict()}:
     * state-dict name to old name (for a {@link SequentialModel}, the cs231n-style {@code W1},
     * {@code b1}, {@code gamma1}, {@code running_mean1}, ... of panama-nn before the module-tree
     * names). Readers of saved files ({@code io.ModelIO}, the Solver's checkpoints) accept
     * either naming; see {@link StateDicts#renamer}. Empty when the names never changed.
     */
    default Map<String, String> legacyNames() { return Map.of(); }

    /**
     * Copies a state dict into the model. It must fit {@link #stateDict()} one to one: every
     * entry present with the same shape and nothing more. Everything is checked before
     * anything is copied; on a mismatch an {@link IllegalArgumentException} lists every
     * problem and the model is unchanged. The given tensors stay the caller's.
     *
     * @param state tensors by name, e.g. another model's {@link #stateDict()}
     */
    default void loadStateDict(Map<String, Tensor> state) {
        Map<String, Tensor> own = stateDict();
        state = StateDicts.renamed(state, StateDicts.renamer(this, state.keySet()));
        List<String> problems = StateDicts.mismatches(own, StateDicts.shapes(state), n -> n);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("state dict does not fit the model (entries " + own.keySet() + "): "
                    + String.join("; ", problems));
        }
        for (var e : own.entrySet()) e.getValue().copyFrom(state.get(e.getKey()));
    }

    /** Frees the model's parameters and buffers. */
    @Override
    void close();
}
