package dev.panamann.models;

import dev.panamann.layers.BatchNorm;
import dev.panamann.layers.Layer;
import dev.panamann.layers.Mode;
import dev.panamann.tensor.Param;
import dev.panamann.layers.Sequential;
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
 * {@link #add(Layer, String)}.
 */
public abstract class SequentialModel implements Model {
    private final Sequential net = new Sequential();
    private Loss criterion;
    private final List<Param> params = new ArrayList<>();
    private final List<Param> weights = new ArrayList<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final int numClasses;
    private float reg;

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
     * Appends a layer. Its params join {@link #params()} with {@code suffix} appended to their
     * names (e.g. gamma to gamma1; empty to keep the names); regularized ones join the L2 term.
     * A {@link BatchNorm}'s running statistics join {@link #buffers()} as
     * {@code running_mean<suffix>} and {@code running_var<suffix>}.
     */
    protected final <L extends Layer> L add(L layer, String suffix) {
        net.add(layer);
        for (Param p : layer.params()) {
            Param named = suffix.isEmpty() ? p : p.withName(p.name() + suffix);
            params.add(named);
            if (p.regularized()) weights.add(named);
        }
        if (layer instanceof BatchNorm bn) {
            buffers.put("running_mean" + suffix, bn.runningMean());
            buffers.put("running_var" + suffix, bn.runningVar());
        }
        return layer;
    }

    /** Closes what was built so far; for constructors that fail half way. */
    protected final void closeQuietly() {
        net.close();
        criterion.close();
    }

    /**
     * @param x input batch, (N, ...) as the model expects
     * @return scores, (N, numClasses), owned by the model
     */
    @Override
    public Tensor scores(Tensor x) {
        return net.forward(x, Mode.EVAL);
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
        Tensor scores = net.forward(x, Mode.TRAIN);
        double data = criterion.forwardDouble(scores, y);
        net.backward(criterion.dscores());
        return data + L2.apply(weights, reg);
    }

    @Override
    public List<Param> params() { return Collections.unmodifiableList(params); }

    @Override
    public Map<String, Tensor> buffers() { return Collections.unmodifiableMap(buffers); }

    @Override
    public List<Rng> generators() { return net.generators(); }

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

    @Override
    public void close() {
        net.close();
        criterion.close();
    }
}
