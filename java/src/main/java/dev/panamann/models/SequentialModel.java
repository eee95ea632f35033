package dev.panamann.models;

import dev.panamann.layers.Affine;
import dev.panamann.layers.BatchNorm;
import dev.panamann.layers.ConvolutionLayer;
import dev.panamann.layers.Layer;
import dev.panamann.layers.Mode;
import dev.panamann.layers.PReLU;
import dev.panamann.layers.Sequential;
import dev.panamann.tensor.Gradients;
import dev.panamann.tensor.Param;
import dev.panamann.loss.Loss;
import dev.panamann.loss.SoftmaxCrossEntropy;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A classifier made of a {@link Sequential} of layers followed by a {@link Loss} (softmax
 * cross-entropy unless another is given, e.g. {@code model.setLoss(new MulticlassHinge())}),
 * with L2 regularization {@code 0.5 * reg * sum(W^2)} on the params marked as regularized. The
 * models of this package are built on it: a subclass adds its layers in its constructor with
 * {@link #add(Layer, String)}. The gradients of all params live in one contiguous buffer
 * ({@link #gradients()}), repacked as layers are added.
 *
 * <p>One thread at a time: a model reuses its activations and gradients between calls, so
 * {@link #scores}, {@link #loss} and {@link #close} detect a call made while another thread is
 * inside one of them and throw {@link IllegalStateException} instead of returning wrong
 * numbers. {@link #close} waits for a running call to finish before it frees anything; a call
 * after close throws. To score from several threads, give each thread its own model (load the
 * same parameters into each).
 */
public abstract class SequentialModel implements Model {
    private final Sequential net = new Sequential();
    private Loss criterion;
    private final List<Param> params = new ArrayList<>();
    private final List<Param> weights = new ArrayList<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    /** Each state-dict name to the name files written before the module-tree names used. */
    private final Map<String, String> legacyNames = new LinkedHashMap<>();
    private final int numClasses;
    private float reg;
    private Tensor gradients = Tensor.zeros(0);
    /** One thread at a time inside scores / loss / close; see the class comment. */
    private final OneCaller caller = new OneCaller();

    /** A model trained with softmax cross-entropy. */
    protected SequentialModel(int numClasses, float reg) {
        this(numClasses, reg, new SoftmaxCrossEntropy());
    }

    /**
     * A model trained with {@code loss}, which it owns from now on (closes it on close).
     *
     * @param numClasses C, the number of scores per example
     * @param reg        L2 regularization strength, &gt;= 0
     * @param loss       the loss on the scores, e.g. {@link SoftmaxCrossEntropy} or
     *                   {@link dev.panamann.loss.MulticlassHinge}
     */
    protected SequentialModel(int numClasses, float reg, Loss loss) {
        if (numClasses < 1) throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
        if (loss == null) throw new IllegalArgumentException("loss is null: pass e.g. new SoftmaxCrossEntropy()");
        this.numClasses = numClasses;
        this.reg = L2.checkReg(reg);
        this.criterion = loss;
    }

    /**
     * Appends a layer. Its params join {@link #params()} named from the module tree, as
     * {@code torch.nn.Sequential} names them: {@code layers.<i>.<name>} with {@code i} the
     * layer's index among the model's layers (layers without params count too) and
     * {@code name} {@code weight} and {@code bias} for an {@link Affine}, a convolution
     * ({@link ConvolutionLayer}), a {@link BatchNorm} (gamma, beta) and a {@link PReLU} (its
     * slopes), {@code <j>.<name>} for the j-th layer of a nested {@link Sequential}, and the
     * name the layer gave its param otherwise. Regularized params join the L2 term. Its
     * {@link Layer#buffers()} join {@link #buffers()} as {@code layers.<i>.<key>} (a
     * {@link BatchNorm}'s {@code running_mean} and {@code running_var}).
     *
     * <p>{@code suffix} makes the names of files written before the tree names
     * ({@link #legacyNames()}): the layer's own param and buffer names with {@code suffix}
     * appended (e.g. gamma to gamma1; empty to keep them, such as W1 given to an Affine).
     */
    protected final <L extends Layer> L add(L layer, String suffix) {
        String prefix = "layers." + net.layers().size() + ".";
        net.add(layer);
        List<String> local = localNames(layer);
        List<Param> own = layer.params();
        for (int k = 0; k < own.size(); k++) {
            Param p = own.get(k);
            Param named = p.withName(prefix + local.get(k));
            legacyNames.put(named.name(), p.name() + suffix);
            params.add(named);
            if (p.regularized()) weights.add(named);
        }
        for (Map.Entry<String, Tensor> b : layer.buffers().entrySet()) {
            buffers.put(prefix + b.getKey(), b.getValue());
            legacyNames.put(prefix + b.getKey(), b.getKey() + suffix);
        }
        if (!layer.params().isEmpty()) {
            Tensor old = gradients;
            gradients = Gradients.pack(params);
            old.close();
        }
        return layer;
    }

    /** The names of a layer's params relative to the layer, in {@link Layer#params()} order (see {@link #add}). */
    private static List<String> localNames(Layer layer) {
        List<String> names = new ArrayList<>();
        if (layer instanceof Sequential s) {
            for (int j = 0; j < s.layers().size(); j++) for (String n : localNames(s.layers().get(j))) names.add(j + "." + n);
            return names;
        }
        List<Param> own = layer.params();
        boolean weightBias = layer instanceof Affine || layer instanceof ConvolutionLayer || layer instanceof BatchNorm
                || layer instanceof PReLU;
        for (int k = 0; k < own.size(); k++) {
            names.add(weightBias && own.size() <= 2 ? (k == 0 ? "weight" : "bias") : own.get(k).name());
        }
        return names;
    }

    /** Closes what was built so far; for constructors that fail half way. */
    protected final void closeQuietly() {
        net.close();
        criterion.close();
        gradients.close();
    }

    /**
     * @param x input batch, (N, ...) as the model expects
     * @return scores, (N, numClasses), owned by the model
     */
    @Override
    public Tensor scores(Tensor x) {
        caller.enter(getClass().getSimpleName(), "scores");
        try {
            return net.forward(x, Mode.EVAL);
        } finally {
            caller.exit();
        }
    }

    /**
     * @param x input batch, (N, ...)
     * @param y labels, N values in [0, numClasses)
     * @return mean data loss (see {@link #criterion()}) plus {@code 0.5 * reg * sum(W^2)}; fills every grad
     */
    @Override
    public float loss(Tensor x, int[] y) {
        return (float) lossDouble(x, y);
    }

    @Override
    public double lossDouble(Tensor x, int[] y) {
        caller.enter(getClass().getSimpleName(), "loss");
        try {
            Tensor scores = net.forward(x, Mode.TRAIN);
            double data = criterion.forwardDouble(scores, y);
            net.backward(criterion.dscores());
            return data + L2.apply(weights, reg);
        } finally {
            caller.exit();
        }
    }

    @Override
    public List<Param> params() { return Collections.unmodifiableList(params); }

    /** The params the L2 penalty covers, in {@link #params()} order. */
    List<Param> regularizedParams() { return Collections.unmodifiableList(weights); }

    @Override
    public Map<String, Tensor> buffers() { return Collections.unmodifiableMap(buffers); }

    @Override
    public Map<String, String> legacyNames() {
        Map<String, String> ordered = new LinkedHashMap<>(); // in the order of stateDict(): params, then buffers
        for (String name : stateDict().keySet()) {
            String old = legacyNames.get(name);
            if (old != null) ordered.put(name, old);
        }
        return Collections.unmodifiableMap(ordered);
    }

    @Override
    public List<Rng> generators() { return net.generators(); }

    @Override
    public Tensor gradients() { return gradients; }

    @Override
    public int numClasses() { return numClasses; }

    /** The L2 regularization strength. */
    public float reg() { return reg; }

    /** @param reg new L2 regularization strength, &gt;= 0 */
    public void setReg(float reg) { this.reg = L2.checkReg(reg); }

    /** The loss on the scores that {@link #loss} computes (softmax cross-entropy by default). */
    public Loss criterion() { return criterion; }

    /**
     * Trains with another loss from now on, e.g. {@code new MulticlassHinge()} for the
     * multiclass SVM; the model owns it and closes the one it replaces.
     *
     * @param loss the new loss
     * @return this model
     */
    public SequentialModel setLoss(Loss loss) {
        if (loss == null) throw new IllegalArgumentException("loss is null: pass e.g. new SoftmaxCrossEntropy()");
        if (loss != criterion) criterion.close();
        criterion = loss;
        return this;
    }

    /** The layers, for inspection. */
    public Sequential layers() { return net; }

    /** Frees the layers' memory and plans, after a call running on another thread has finished. */
    @Override
    public void close() {
        if (!caller.enterClose()) return;
        try {
            net.close();
            criterion.close();
            gradients.close();
        } finally {
            caller.exit();
        }
    }
}
